package dns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// want is a desired record ready to write: tunnel resolved, comment with
// the marker.
type want struct {
	Record
	comment string // as stored: cfapi.Comment(marker, Record.Comment)
}

// remote is a record as listed, with its ownership decided.
type remote struct {
	id, name, typ, content string
	ttl                    int
	proxied                bool
	priority               *int
	comment                string
	tags                   []string
	owned                  bool
}

func fromAPI(r cloudflare.DNSRecord, marker string, ownedIDs map[string]bool) remote {
	out := remote{
		id: r.ID, name: strings.ToLower(r.Name), typ: strings.ToUpper(r.Type), content: r.Content,
		ttl: r.TTL, proxied: r.Proxied != nil && *r.Proxied, comment: r.Comment,
	}
	if r.Priority != nil {
		p := int(*r.Priority)
		out.priority = &p
	}
	for _, t := range r.Tags {
		name, value, _ := strings.Cut(t, ":")
		out.tags = append(out.tags, strings.ToLower(name)+":"+value)
	}
	slices.Sort(out.tags)
	out.owned = cfapi.Owned(r.Comment, marker) || ownedIDs[r.ID]
	return out
}

// recordBody is a record in a batch request; ID is set on patches. Every
// field is sent so a patch leaves nothing of the old record behind: tags
// [] clears tags (null would keep them), comment always carries the marker.
type recordBody struct {
	ID       string   `json:"id,omitempty"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Content  string   `json:"content"`
	TTL      int      `json:"ttl"`
	Proxied  bool     `json:"proxied"`
	Priority *int     `json:"priority,omitempty"`
	Comment  string   `json:"comment"`
	Tags     []string `json:"tags"`
}

func bodyOf(w *want, id string) recordBody {
	tags := w.Tags
	if tags == nil {
		tags = []string{}
	}
	return recordBody{ID: id, Type: w.Type, Name: w.Name, Content: w.Content, TTL: w.TTL, Proxied: w.Proxied,
		Priority: w.Priority, Comment: w.comment, Tags: tags}
}

// plan is what one flush writes.
type plan struct {
	deletes []string
	patches []recordBody
	posts   []recordBody
	// ids maps "<name> <type> <content>" to the id of every record that is
	// ours and stays (unchanged or patched); posts add theirs when written.
	ids     map[string]string
	clashes []string
}

func idKey(name, typ, content string) string { return name + " " + typ + " " + content }

// diff compares desired records with the zone's records. It never plans a
// change to a record that is not ours, except adopting one a desired record
// with adopt set collides with.
func diff(wants []want, remotes []remote) plan {
	p := plan{ids: map[string]string{}}
	used := make([]bool, len(remotes))
	byName := map[string][]int{}
	for i := range remotes {
		byName[remotes[i].name] = append(byName[remotes[i].name], i)
	}
	// find returns the first unused remote on name that ok accepts.
	find := func(name string, ok func(r *remote) bool) int {
		for _, i := range byName[name] {
			if !used[i] && ok(&remotes[i]) {
				return i
			}
		}
		return -1
	}
	keep := func(w *want, i int) {
		used[i] = true
		p.ids[idKey(w.Name, w.Type, w.Content)] = remotes[i].id
		if !sameRecord(w, &remotes[i]) {
			p.patches = append(p.patches, bodyOf(w, remotes[i].id))
		}
	}

	// Content matches first, so a multi-value name keeps the records it
	// already has and patches only the rest.
	pending := make([]*want, 0, len(wants))
	for i := range wants {
		w := &wants[i]
		j := find(w.Name, func(r *remote) bool { return r.owned && r.typ == w.Type && sameContent(w.Type, w.Content, r.content) })
		if j >= 0 {
			keep(w, j)
			continue
		}
		// The same value in a record that is not ours: patching one of ours
		// to it would be refused as a duplicate, so it is that record or
		// nothing.
		j = find(w.Name, func(r *remote) bool { return !r.owned && r.typ == w.Type && sameContent(w.Type, w.Content, r.content) })
		if j >= 0 {
			if w.Adopt {
				keep(w, j)
			} else {
				used[j] = true
				p.clashes = append(p.clashes, clash(&remotes[j], w))
			}
			continue
		}
		pending = append(pending, w)
	}
	var creates []*want
	for _, w := range pending {
		if j := find(w.Name, func(r *remote) bool { return r.owned && r.typ == w.Type }); j >= 0 {
			keep(w, j)
			continue
		}
		creates = append(creates, w)
	}
	for _, w := range creates {
		blockers := blockersOf(w, remotes, byName[w.Name], used)
		switch {
		case len(blockers) == 0:
			p.posts = append(p.posts, bodyOf(w, ""))
		case w.Adopt && (len(blockers) == 1 || w.Type != "CNAME"):
			keep(w, blockers[0])
		case w.Adopt:
			p.clashes = append(p.clashes, fmt.Sprintf(
				"record %s CNAME cannot adopt the %d A/AAAA/CNAME records on its name that conflux-sync does not manage (a CNAME replaces exactly one; remove the others)",
				w.Name, len(blockers)))
		default:
			for _, j := range blockers {
				p.clashes = append(p.clashes, clash(&remotes[j], w))
			}
		}
	}
	for i := range remotes {
		if remotes[i].owned && !used[i] {
			p.deletes = append(p.deletes, remotes[i].id)
		}
	}
	slices.Sort(p.clashes)
	p.clashes = slices.Compact(p.clashes)
	return p
}

// blockersOf lists the unused records that are not ours and keep w from
// being created: the same name and type, a CNAME on the name, or, for a
// CNAME, an A, AAAA or CNAME on the name. Same-type records come first, the
// natural ones to adopt.
func blockersOf(w *want, remotes []remote, onName []int, used []bool) []int {
	var out []int
	for _, i := range onName {
		r := &remotes[i]
		if used[i] || r.owned {
			continue
		}
		if r.typ == w.Type || r.typ == "CNAME" || (w.Type == "CNAME" && (r.typ == "A" || r.typ == "AAAA")) {
			out = append(out, i)
		}
	}
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp.Compare(boolInt(remotes[a].typ != w.Type), boolInt(remotes[b].typ != w.Type))
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func clash(r *remote, w *want) string {
	msg := fmt.Sprintf("record %s %s exists and is not managed by conflux-sync (set adopt to take it over)", r.name, r.typ)
	if r.typ != w.Type {
		msg += fmt.Sprintf("; it blocks the desired %s %s", w.Name, w.Type)
	}
	return msg
}

// sameRecord reports whether r already is w: no write needed.
func sameRecord(w *want, r *remote) bool {
	return r.typ == w.Type && sameContent(w.Type, w.Content, r.content) &&
		r.ttl == w.TTL && r.proxied == w.Proxied && r.comment == w.comment &&
		slices.Equal(r.tags, w.Tags) &&
		(w.Type != "MX" || (r.priority != nil && w.Priority != nil && *r.priority == *w.Priority))
}

// sameContent compares values the way the API does: addresses by value,
// host names without case or trailing dot, TXT exactly.
func sameContent(typ, a, b string) bool {
	switch typ {
	case "A", "AAAA":
		x, err1 := netip.ParseAddr(a)
		y, err2 := netip.ParseAddr(b)
		if err1 == nil && err2 == nil {
			return x == y
		}
	case "CNAME", "MX":
		return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
	}
	return a == b
}
