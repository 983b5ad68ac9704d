package tunnel

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind"
)

// ruleKey identifies what a rule matches. Two rules with one key cannot
// both be useful (cloudflared takes the first match), so across sources a
// shared key is a conflict.
type ruleKey struct {
	host string // lower case; "" for any host ("*" is normalised to "")
	path string
}

// keyOf normalises a rule's match: DNS names are case-insensitive, and
// cloudflared treats hostname "*" exactly like no hostname.
func keyOf(r *Rule) ruleKey {
	host := strings.ToLower(r.Hostname)
	if host == "*" {
		host = ""
	}
	return ruleKey{host: host, path: r.Path}
}

// matchKey is what decides a conflict between sources: the rule's key
// with every spelling of "any path" as "" (api.MatchPath). Two sources whose rules differ
// only in that spelling route the same requests, so cloudflared would
// only ever use the first: that is a conflict like an exact duplicate,
// and the loser is reported and not written. One source's own rules keep
// their keys (Validate judges those).
//
// The same holds for a hostname in Unicode and in punycode: cloudflared
// matches a Unicode rule hostname against its punycode form as well
// (ingress.go, punycodeHostname), the form requests carry, so
// "bücher.example" and "xn--bcher-kva.example" conflict.
func matchKey(k ruleKey) ruleKey {
	k.path = api.MatchPath(k.path)
	k.host = punycodeHost(k.host)
	return k
}

// punycodeHost is h as cloudflared converts it for matching (idna's
// Lookup profile), or h itself when it is ASCII or does not convert.
func punycodeHost(h string) string {
	if isASCII(h) {
		return h
	}
	p, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return h
	}
	return p
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// String is the conflict key: "host path", "*" standing for any host.
func (k ruleKey) String() string {
	host := k.host
	if host == "" {
		host = "*"
	}
	if k.path == "" {
		return host
	}
	return host + " " + k.path
}

// SourcePriority orders sources that registered at the same raft index;
// lower wins. These are cloudflare-operator's priorities.
func SourcePriority(kind string) int {
	switch baseKind(kind) {
	case "Tunnel", "ClusterTunnel":
		return 10
	case "TunnelBinding":
		return 50
	default: // Ingress, HTTPRoute and everything else
		return 100
	}
}

// ranked is one decoded fragment with what decides its rank.
type ranked struct {
	frag     *api.Fragment
	spec     Spec
	priority int
	key      string // frag.Source.Key()
}

// compareRank orders fragments from strongest to weakest claim: first
// registered, then source priority, then source key. The last two
// tie-breaks only matter if a caller passes one source twice for a target
// (the store never does); they keep the order total all the same.
func compareRank(a, b *ranked) int {
	return cmp.Or(
		cmp.Compare(a.frag.CreateIndex, b.frag.CreateIndex),
		cmp.Compare(a.priority, b.priority),
		strings.Compare(a.key, b.key),
		cmp.Compare(b.frag.Generation, a.frag.Generation),
		bytes.Compare(a.frag.Spec, b.frag.Spec),
	)
}

// whyWins explains why w beats l, for Conflict.Reason.
func whyWins(w, l *ranked) string {
	switch {
	case w.frag.CreateIndex != l.frag.CreateIndex:
		return fmt.Sprintf("%s registered first (createIndex %d before %d)", w.frag.Source, w.frag.CreateIndex, l.frag.CreateIndex)
	case w.priority != l.priority:
		return fmt.Sprintf("both registered at createIndex %d; %s has the higher priority (%d before %d)", w.frag.CreateIndex, w.frag.Source, w.priority, l.priority)
	default:
		return fmt.Sprintf("both registered at createIndex %d with priority %d; %s sorts first by source", w.frag.CreateIndex, w.priority, w.frag.Source)
	}
}

// aggregate is Kind.Aggregate; see there.
func aggregate(fragments []api.Fragment) (kind.Result, error) {
	if len(fragments) == 0 {
		return kind.Result{}, nil
	}
	frs, err := decodeAll(fragments)
	if err != nil {
		return kind.Result{}, err
	}
	var conflicts []api.Conflict
	rules, lost := mergeRules(frs)
	conflicts = append(conflicts, lost...)
	settings, lost := pickSettings(frs)
	conflicts = append(conflicts, lost...)
	slices.SortFunc(conflicts, compareConflicts)

	desired, err := encode(render(rules, settings))
	if err != nil {
		return kind.Result{}, err
	}
	return kind.Result{Desired: desired, Conflicts: conflicts}, nil
}

// decodeAll decodes and validates every fragment and sorts them by rank.
// A stored fragment failing here was accepted by an older, laxer version:
// its source is named so an operator can fix or delete it.
func decodeAll(fragments []api.Fragment) ([]*ranked, error) {
	frs := make([]*ranked, len(fragments))
	for i := range fragments {
		f := &fragments[i]
		spec, err := decodeStored(f.Spec)
		if err != nil {
			return nil, fmt.Errorf("fragment from %s: %w", f.Source, err)
		}
		// Warnings were returned to the producer when it wrote the
		// fragment; the aggregate has no one to tell them to.
		if fe := validateSpec(&spec, f.Source, &checks{}); fe != nil {
			return nil, fmt.Errorf("fragment from %s: %w", f.Source, fe)
		}
		frs[i] = &ranked{frag: f, spec: spec, priority: SourcePriority(f.Source.Kind), key: f.Source.Key()}
	}
	slices.SortFunc(frs, compareRank)
	return frs, nil
}

// decodeStored decodes a spec that Validate accepted when it was proposed.
// Stored specs passed DecodeSpec's shape check, and for those the standard
// strict decoder gives the same Spec (FuzzDecodeSpec checks this) at about
// half the cost; only a spec it rejects goes through DecodeSpec again, for
// an error that names the field.
func decodeStored(raw []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err == nil {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			return s, nil
		}
	}
	return DecodeSpec(raw)
}

// claim is a rule together with the fragment that won it.
type claim struct {
	key  ruleKey
	rule *Rule
	by   *ranked
}

// mergeRules keeps, for every (hostname, path), the rule of the strongest
// fragment; frs must be sorted by rank. Every losing rule is a conflict.
func mergeRules(frs []*ranked) ([]claim, []api.Conflict) {
	n := 0
	for _, fr := range frs {
		n += len(fr.spec.Rules)
	}
	won := make(map[ruleKey]int, n) // by matchKey
	claims := make([]claim, 0, n)
	var conflicts []api.Conflict
	for _, fr := range frs {
		for i := range fr.spec.Rules {
			r := &fr.spec.Rules[i]
			k := keyOf(r)
			mk := matchKey(k)
			w, taken := won[mk]
			if taken && claims[w].by != fr {
				winner := claims[w].by
				conflicts = append(conflicts, api.Conflict{
					Key: mk.String(), Winner: winner.frag.Source, Loser: fr.frag.Source,
					Reason: "hostname and path already routed by another source: " + whyWins(winner, fr),
				})
				continue
			}
			if !taken {
				won[mk] = len(claims)
			}
			claims = append(claims, claim{key: k, rule: r, by: fr})
		}
	}
	slices.SortFunc(claims, func(a, b claim) int { return compareRules(a.key, b.key) })
	return claims, conflicts
}

// pickSettings returns the tunnel-wide settings of the strongest Tunnel
// fragment that has any; frs must be sorted by rank. A Tunnel fragment
// without settings claims nothing, so it neither wins nor loses.
func pickSettings(frs []*ranked) (*Settings, []api.Conflict) {
	var winner *ranked
	var conflicts []api.Conflict
	for _, fr := range frs {
		if fr.spec.Settings == nil || !isTunnelSource(fr.frag.Source.Kind) {
			continue
		}
		if winner == nil {
			winner = fr
			continue
		}
		conflicts = append(conflicts, api.Conflict{
			Key: "settings", Winner: winner.frag.Source, Loser: fr.frag.Source,
			Reason: "tunnel-wide settings come from one Tunnel source only: " + whyWins(winner, fr),
		})
	}
	if winner == nil {
		return nil, nil
	}
	return winner.spec.Settings, conflicts
}

func compareConflicts(a, b api.Conflict) int {
	return cmp.Or(
		strings.Compare(a.Key, b.Key),
		compareSources(a.Loser, b.Loser),
		compareSources(a.Winner, b.Winner),
		strings.Compare(a.Reason, b.Reason),
	)
}

// compareSources orders like SourceRef.Key (the separator sorts before any
// character a valid name may hold) without building the keys.
func compareSources(a, b api.SourceRef) int {
	return cmp.Or(
		strings.Compare(a.Kind, b.Kind),
		strings.Compare(a.Namespace, b.Namespace),
		strings.Compare(a.Name, b.Name),
	)
}
