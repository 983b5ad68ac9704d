package dns

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// Kind implements kind.Kind for DNS records. It has no state.
type Kind struct{}

var _ kind.Kind = Kind{}

// New returns the DNS record kind.
func New() kind.Kind { return Kind{} }

// Name returns cfapi.KindDNSRecord.
func (Kind) Name() string { return cfapi.KindDNSRecord }

// Validate checks the zone name (target name) and one fragment spec.
func (Kind) Validate(target api.TargetRef, _ api.SourceRef, spec json.RawMessage) error {
	if _, fe := decode(target, spec, kind.DecodeStrict); fe != nil {
		return fe
	}
	return nil
}

// decode decodes (with decodeJSON: kind.DecodeStrict for input,
// kind.DecodeStored for stored specs), validates and normalizes a spec for
// target.
func decode(target api.TargetRef, raw json.RawMessage, decodeJSON func(json.RawMessage, any) error) (Spec, *api.FieldError) {
	if target.Kind != cfapi.KindDNSRecord {
		return Spec{}, &api.FieldError{Field: "target.kind", Reason: fmt.Sprintf("is %q, but this validator is for %q", target.Kind, cfapi.KindDNSRecord)}
	}
	if fe := ValidateZoneName(target.Name); fe != nil {
		return Spec{}, fe
	}
	var s Spec
	if err := decodeJSON(raw, &s); err != nil {
		fe, _ := err.(*api.FieldError)
		if fe == nil {
			fe = &api.FieldError{Field: "spec", Reason: err.Error()}
		}
		return Spec{}, fe
	}
	if fe := normalize(&s, target.Name); fe != nil {
		return Spec{}, fe
	}
	return s, nil
}

// ranked is one decoded fragment.
type ranked struct {
	frag *api.Fragment
	spec Spec
	key  string // frag.Source.Key()
}

// compareRank orders fragments strongest first: registered first, then
// source key; generation and spec bytes only keep the order total should a
// caller pass one source twice.
func compareRank(a, b *ranked) int {
	return cmp.Or(
		cmp.Compare(a.frag.CreateIndex, b.frag.CreateIndex),
		strings.Compare(a.key, b.key),
		cmp.Compare(b.frag.Generation, a.frag.Generation),
		bytes.Compare(a.frag.Spec, b.frag.Spec),
	)
}

// Aggregate combines the fragments of one zone (see the package doc for the
// rules). No fragments give an empty Result; a fragment that does not
// validate is an error naming its source.
func (Kind) Aggregate(target api.TargetRef, fragments []api.Fragment) (kind.Result, error) {
	if len(fragments) == 0 {
		return kind.Result{}, nil
	}
	frags := make([]*ranked, len(fragments))
	for i := range fragments {
		f := &fragments[i]
		s, fe := decode(target, f.Spec, kind.DecodeStored)
		if fe != nil {
			return kind.Result{}, fmt.Errorf("fragment from %s: %w", f.Source, fe)
		}
		frags[i] = &ranked{frag: f, spec: s, key: f.Source.Key()}
	}
	slices.SortFunc(frags, compareRank)

	var (
		conflicts []api.Conflict
		account   string
		accountBy *ranked
		owners    = map[key]*ranked{}
		held      = map[key][]Record{}              // the records owners[k] put under k
		names     = map[string]map[string]*ranked{} // name → type → owner
		out       = Desired{Records: []Record{}}
	)
	conflict := func(k string, winner, loser *ranked, reason string) {
		conflicts = append(conflicts, api.Conflict{Key: k, Winner: winner.frag.Source, Loser: loser.frag.Source, Reason: reason})
	}
	for _, f := range frags {
		if a := f.spec.AccountID; a != "" {
			if account == "" {
				account, accountBy = a, f
			} else if a != account {
				conflict("accountId", accountBy, f, fmt.Sprintf("%s already set accountId %s; all fragments of a zone must name one account, so the records of accountId %s are ignored", accountBy.frag.Source, account, a))
				continue
			}
		}
		// The zone is written with one token: the strongest fragment's
		// Secret wins, without a conflict for the others.
		if out.Credentials == nil && f.spec.Credentials != nil {
			c := *f.spec.Credentials
			out.Credentials = &c
		}
		byKey, keys := groupByKey(f.spec.Records)
		for _, k := range keys {
			if w := clashOwner(owners, names, k, f); w != nil {
				// Asking for exactly the records already held is agreement
				// (several Ingresses with paths on one host all want its
				// CNAME), not a conflict.
				if owners[k] != w || !sameRecords(held[k], byKey[k]) {
					conflict(k.String(), w, f, clashReason(k, w, names))
				}
				continue
			}
			owners[k] = f
			held[k] = byKey[k]
			if names[k.name] == nil {
				names[k.name] = map[string]*ranked{}
			}
			names[k.name][k.typ] = f
			out.Records = append(out.Records, byKey[k]...)
		}
	}
	out.AccountID = account
	slices.SortFunc(out.Records, func(a, b Record) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type),
			strings.Compare(value(&a), value(&b)), strings.Compare(a.Tunnel, b.Tunnel))
	})
	desired, err := json.Marshal(out)
	if err != nil {
		return kind.Result{}, fmt.Errorf("encode desired records: %w", err)
	}
	return kind.Result{Desired: desired, Conflicts: conflicts}, nil
}

// groupByKey groups a fragment's records by key and lists the keys sorted,
// so conflicts come out in a stable order.
func groupByKey(recs []Record) (map[key][]Record, []key) {
	byKey := make(map[key][]Record, len(recs))
	keys := make([]key, 0, len(recs))
	for _, r := range recs {
		k := keyOf(&r)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.typ, b.typ)) })
	return byKey, keys
}

// sameRecords reports whether two sources ask for the same records under
// one key, in any order. Takeover evidence is not part of what a record
// is: a source without it agrees with one that has it, and the held
// records (the stronger source's) keep theirs.
func sameRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	enc := func(rs []Record) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			r.TakeOver = nil
			b, _ := json.Marshal(r)
			out[i] = string(b)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(enc(a), enc(b))
}

// clashOwner returns the stronger fragment that already holds k, or a
// record that cannot share k's name with it (a CNAME is alone on its name).
func clashOwner(owners map[key]*ranked, names map[string]map[string]*ranked, k key, f *ranked) *ranked {
	if w := owners[k]; w != nil && w != f {
		return w
	}
	byType := names[k.name]
	if k.typ == "CNAME" {
		for _, typ := range sortedTypes(byType) {
			if w := byType[typ]; w != f {
				return w
			}
		}
		return nil
	}
	if w := byType["CNAME"]; w != nil && w != f {
		return w
	}
	return nil
}

func clashReason(k key, w *ranked, names map[string]map[string]*ranked) string {
	if names[k.name][k.typ] == w {
		return fmt.Sprintf("%s already owns %s (registered at index %d)", w.frag.Source, k, w.frag.CreateIndex)
	}
	if k.typ == "CNAME" {
		return fmt.Sprintf("%s already has records on %s (registered at index %d); a CNAME must be the only record on its name", w.frag.Source, k.name, w.frag.CreateIndex)
	}
	return fmt.Sprintf("%s already owns a CNAME on %s (registered at index %d); a CNAME must be the only record on its name", w.frag.Source, k.name, w.frag.CreateIndex)
}

func sortedTypes(m map[string]*ranked) []string {
	types := make([]string, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}
