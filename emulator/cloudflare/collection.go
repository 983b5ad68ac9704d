package cloudflare

import (
	"net/http"
	"slices"
)

// collection is one kind of account-level object (Access groups, Gateway
// rules, ...) held in a slice of the account in creation order. It does
// what every such API route does the same way: check the {account} against
// the token, find {id} (or answer the kind's 404), list in pages, replace
// on PUT and delete. What differs between kinds (validation, defaults,
// what a create or delete answers, refusals) stays in the kind's own
// handlers, passed in as functions. index and find are for callers that
// hold s.mu; the other methods take it.
type collection[T any] struct {
	// of is the account's slice of the kind.
	of func(a *account) *[]T
	// id is the object's id, as a delete answers it.
	id func(x T) string
	// matches reports whether x is what {id} names; nil means x's id is
	// {id}.
	matches func(x T, id string) bool
	// notFound is the kind's 404 for id.
	notFound func(id string) *apiError
	// answer renders x as get, list and replace answer it.
	answer func(a *account, x T) any
	// page cuts a listing into the page asked for.
	page pager
}

// pager returns the bounds of the page r asks for out of total items, and
// the result_info answered with it.
type pager func(r *http.Request, total int) (start, end int, info *resultInfo)

// pages is the pager of a listing in pages of defPer items unless the
// request asks for per_page, up to maxPer.
func pages(defPer, maxPer int) pager {
	return func(r *http.Request, total int) (int, int, *resultInfo) {
		return pageWindow(r, total, defPer, maxPer)
	}
}

// onePage is the pager of a listing that answers everything at once and
// ignores page and per_page (per_page is then the count, even 0).
func onePage(_ *http.Request, total int) (int, int, *resultInfo) {
	return 0, total, &resultInfo{Page: 1, PerPage: total, Count: total, TotalCount: total, TotalPages: 1}
}

// writePage answers the page of items r asks for, each rendered by answer,
// with its result_info.
func writePage[T, R any](w http.ResponseWriter, r *http.Request, items []T, page pager, answer func(T) R) {
	start, end, info := page(r, len(items))
	res := make([]R, 0, end-start)
	for _, x := range items[start:end] {
		res = append(res, answer(x))
	}
	writeResult(w, http.StatusOK, res, info)
}

// index finds the object id in a; caller holds s.mu.
func (c collection[T]) index(a *account, id string) (int, *apiError) {
	i := slices.IndexFunc(*c.of(a), func(x T) bool {
		if c.matches != nil {
			return c.matches(x, id)
		}
		return c.id(x) == id
	})
	if i < 0 {
		return 0, c.notFound(id)
	}
	return i, nil
}

// find resolves the request's {account} (scope checked) and {id}; caller
// holds s.mu.
func (c collection[T]) find(s *Server, r *http.Request, scope TokenScope) (*account, int, *apiError) {
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return nil, 0, aerr
	}
	i, aerr := c.index(a, r.PathValue("id"))
	if aerr != nil {
		return nil, 0, aerr
	}
	return a, i, nil
}

// add appends x, decoded and checked against the request alone, to the
// request's account once fit (nil: nothing to do) has checked it against
// the account and given it what the server assigns (id, timestamps), and
// answers it with status: rendered by created, or by c.answer when nil.
func (c collection[T]) add(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope, status int,
	x T, fit func(a *account, x T) *apiError, created func(x T) any) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	if fit != nil {
		if aerr := fit(a, x); aerr != nil {
			return aerr
		}
	}
	l := c.of(a)
	*l = append(*l, x)
	if created != nil {
		writeResult(w, status, created(x), nil)
	} else {
		writeResult(w, status, c.answer(a, x), nil)
	}
	return nil
}

// get answers the object {id}.
func (c collection[T]) get(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope) *apiError {
	return c.update(s, w, r, scope, func(a *account, x T) (any, *apiError) { return c.answer(a, x), nil })
}

// update runs change on the object {id} in place and answers what it
// returns with 200; an error from change is the answer instead.
func (c collection[T]) update(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope,
	change func(a *account, x T) (any, *apiError)) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := c.find(s, r, scope)
	if aerr != nil {
		return aerr
	}
	res, aerr := change(a, (*c.of(a))[i])
	if aerr != nil {
		return aerr
	}
	writeResult(w, http.StatusOK, res, nil)
	return nil
}

// replace is a PUT: next, decoded and checked against the request alone,
// takes the place of the object {id} once fit has checked it against the
// account and carried over from cur what the server keeps (id, creation
// time, ...); answers next with 200.
func (c collection[T]) replace(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope,
	next T, fit func(a *account, cur, next T) *apiError) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := c.find(s, r, scope)
	if aerr != nil {
		return aerr
	}
	l := *c.of(a)
	if aerr := fit(a, l[i], next); aerr != nil {
		return aerr
	}
	l[i] = next
	writeResult(w, http.StatusOK, c.answer(a, next), nil)
	return nil
}

// remove deletes the object {id} unless refuse (nil: never) objects, and
// answers with status what gone renders of it, or {"id": id} when nil.
func (c collection[T]) remove(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope, status int,
	refuse func(a *account, x T) *apiError, gone func(x T) any) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, i, aerr := c.find(s, r, scope)
	if aerr != nil {
		return aerr
	}
	l := c.of(a)
	x := (*l)[i]
	if refuse != nil {
		if aerr := refuse(a, x); aerr != nil {
			return aerr
		}
	}
	*l = slices.Delete(*l, i, i+1)
	if gone != nil {
		writeResult(w, status, gone(x), nil)
	} else {
		writeResult(w, status, map[string]string{"id": c.id(x)}, nil)
	}
	return nil
}

// list answers the account's objects that keep (nil: all) keeps, in
// creation order, in pages.
func (c collection[T]) list(s *Server, w http.ResponseWriter, r *http.Request, scope TokenScope, keep func(x T) bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, aerr := s.accountFor(r, scope)
	if aerr != nil {
		return aerr
	}
	items := *c.of(a)
	if keep != nil {
		items = slices.DeleteFunc(slices.Clone(items), func(x T) bool { return !keep(x) })
	}
	writePage(w, r, items, c.page, func(x T) any { return c.answer(a, x) })
	return nil
}

// snapshot returns what info makes of each of the account's objects of c,
// in creation order, for the inspection methods tests call (AccessGroups,
// Tunnels, ...): nil for an account the emulator does not have, which it
// does not create.
func snapshot[T, I any](s *Server, accountID string, c collection[T], info func(a *account, x T) I) []I {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return nil
	}
	items := *c.of(a)
	out := make([]I, 0, len(items))
	for _, x := range items {
		out = append(out, info(a, x))
	}
	return out
}
