package dns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// want is a desired record ready to write: tunnel resolved, comment with
// the marker.
type want struct {
	Record
	comment string // as stored: cfapi.Comment(marker, Record.Comment)
	// tunnel is the tunnel a tunnel CNAME points at; zero otherwise.
	tunnel cfapi.Tunnel
}

// remote is a record as listed, with its ownership decided.
type remote struct {
	id, name, typ, content string
	// data is the record's data as the API returns it (data types).
	data     map[string]any
	ttl      int
	proxied  bool
	priority *int
	comment  string
	tags     []string
	// marked: the comment carries our marker. owned: marked, recorded as
	// ours, or proven by a desired record's takeover evidence.
	marked, owned bool
	// proof names the takeover evidence that made the record ours; "" when
	// it was ours before, or is not.
	proof string
}

func fromAPI(r cloudflare.DNSRecord, marker string, ownedIDs map[string]bool) remote {
	out := remote{
		id: r.ID, name: strings.ToLower(r.Name), typ: strings.ToUpper(r.Type), content: r.Content,
		ttl: r.TTL, proxied: r.Proxied != nil && *r.Proxied, comment: r.Comment,
	}
	if d, ok := r.Data.(map[string]any); ok {
		out.data = d
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
	out.marked = cfapi.Owned(r.Comment, marker)
	out.owned = out.marked || ownedIDs[r.ID]
	return out
}

// recordBody is a record in a batch request; ID is set on patches. Every
// field is sent so a patch leaves nothing of the old record behind: tags
// [] clears tags (null would keep them), comment always carries the marker.
type recordBody struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Content is empty (and left out) for data types: the API builds it
	// from Data.
	Content  string         `json:"content,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
	TTL      int            `json:"ttl"`
	Proxied  bool           `json:"proxied"`
	Priority *int           `json:"priority,omitempty"`
	Comment  string         `json:"comment"`
	Tags     []string       `json:"tags"`
}

func bodyOf(w *want, id string) recordBody {
	tags := w.Tags
	if tags == nil {
		tags = []string{}
	}
	return recordBody{ID: id, Type: w.Type, Name: w.Name, Content: w.Content, Data: w.Data, TTL: w.TTL, Proxied: w.Proxied,
		Priority: w.Priority, Comment: w.comment, Tags: tags}
}

// plan is what one flush writes.
type plan struct {
	deletes []string
	patches []recordBody
	posts   []recordBody
	// ids maps "<name> <type> <content>" to the id of every record that is
	// ours and stays (unchanged or patched); posts add theirs when written.
	ids map[string]string
	// names maps the id of every record deleted to its "<name> <TYPE>",
	// which names the delete should the API refuse it.
	names map[string]string
	// clashes are the desired records left unwritten because records we
	// do not own stand in their way, one api.RefusedConflict each.
	clashes []api.RefusedPart
	// lines say what the plan does, one action a line (engine.Outcome.Plan),
	// sorted: every write, and every takeover or adoption (which writes
	// nothing unless the record changes too).
	lines []string
}

func idKey(name, typ, content string) string { return name + " " + typ + " " + content }

// diff compares desired records with the zone's records. It never plans a
// change to a record that is not ours, except adopting one a desired record
// with adopt set collides with, and deleting the registry TXT records that
// claim records of ours it deletes. Records a desired record's takeover
// evidence proves are ours (see prove). The records of ours on the name
// and type of a waiting record are kept as they are, and stay ours.
func diff(wants []want, remotes []remote, waiting []waitingRecord) plan {
	prove(wants, remotes)
	p := plan{ids: map[string]string{}, names: map[string]string{}}
	used := make([]bool, len(remotes))
	byName := map[string][]int{}
	for i := range remotes {
		byName[remotes[i].name] = append(byName[remotes[i].name], i)
	}
	for _, w := range waiting {
		line := w.reason() + ": DNS record " + w.name + " " + w.typ + " points at it"
		for _, i := range byName[w.name] {
			if r := &remotes[i]; r.owned && r.typ == w.typ && !used[i] {
				used[i] = true
				p.ids[idKey(r.name, r.typ, r.content)] = r.id
				line += fmt.Sprintf("; record id %s kept as it is until then", r.id)
			}
		}
		p.lines = append(p.lines, line)
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
		r := &remotes[i]
		used[i] = true
		p.ids[idKey(w.Name, w.Type, value(&w.Record))] = r.id
		changes := recordChanges(w, r)
		if len(changes) > 0 {
			p.patches = append(p.patches, bodyOf(w, r.id))
		}
		if line := keepLine(r, changes); line != "" {
			p.lines = append(p.lines, line)
		}
	}

	// Content matches first, so a multi-value name keeps the records it
	// already has and patches only the rest.
	pending := make([]*want, 0, len(wants))
	for i := range wants {
		w := &wants[i]
		j := find(w.Name, func(r *remote) bool { return r.owned && r.typ == w.Type && sameValue(w, r) })
		if j >= 0 {
			keep(w, j)
			continue
		}
		// The same value in a record that is not ours: patching one of ours
		// to it would be refused as a duplicate, so it is that record or
		// nothing.
		j = find(w.Name, func(r *remote) bool { return !r.owned && r.typ == w.Type && sameValue(w, r) })
		if j >= 0 {
			if w.Adopt {
				keep(w, j)
			} else {
				used[j] = true
				p.clashes = append(p.clashes, clashPart(w, clash(&remotes[j], w)))
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
			p.lines = append(p.lines, "create DNS record "+describe(w.Name, w.Type, value(&w.Record)))
		case w.Adopt && (len(blockers) == 1 || w.Type != "CNAME"):
			keep(w, blockers[0])
		case w.Adopt:
			p.clashes = append(p.clashes, clashPart(w, fmt.Sprintf(
				"record %s CNAME cannot adopt the %d A/AAAA/CNAME records on its name that conflux-sync does not manage (a CNAME replaces exactly one; remove the others)",
				w.Name, len(blockers))))
		default:
			for _, j := range blockers {
				p.clashes = append(p.clashes, clashPart(w, clash(&remotes[j], w)))
			}
		}
	}
	var deleted []int
	for i := range remotes {
		if r := &remotes[i]; r.owned && !used[i] {
			p.deletes = append(p.deletes, r.id)
			p.names[r.id] = key{r.name, r.typ}.String()
			deleted = append(deleted, i)
			why := "ours, and no fragment wants it"
			if r.proof != "" {
				why = "taken over (" + r.proof + "), and no fragment wants it"
			}
			p.lines = append(p.lines, fmt.Sprintf("delete DNS record %s (id %s: %s)", describe(r.name, r.typ, r.content), r.id, why))
		}
	}
	for _, i := range registryClaims(remotes, used, deleted) {
		r := &remotes[i]
		p.deletes = append(p.deletes, r.id)
		p.names[r.id] = key{r.name, r.typ}.String()
		p.lines = append(p.lines, fmt.Sprintf("delete DNS record %s %s (id %s: the previous controller's registry entry of a record deleted with it)", r.name, r.typ, r.id))
	}
	slices.SortFunc(p.clashes, compareRefused)
	p.clashes = slices.Compact(p.clashes)
	slices.Sort(p.lines)
	return p
}

// keepLine says what keeping r for a desired record does: take it over
// (naming the evidence) or adopt it, and update it with changes (see
// recordChanges); "" when it was ours and is right.
func keepLine(r *remote, changes []string) string {
	rec := describe(r.name, r.typ, r.content)
	var own string
	switch {
	case r.proof != "":
		own = fmt.Sprintf("take over DNS record %s (%s)", rec, r.proof)
	case !r.owned:
		own = fmt.Sprintf("adopt DNS record %s (id %s)", rec, r.id)
	}
	switch {
	case len(changes) == 0:
		return own
	case own == "":
		return fmt.Sprintf("update DNS record %s (id %s): %s", rec, r.id, strings.Join(changes, ", "))
	}
	return own + ", then update it: " + strings.Join(changes, ", ")
}

// describe names a record in a plan line: name, type and content (long
// contents shortened).
func describe(name, typ, content string) string {
	return name + " " + typ + " " + shorten(content)
}

// shorten keeps a plan line short: at most 64 characters (runes) of s.
func shorten(s string) string {
	const limit = 64
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
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

// clashPart reports the desired record w refused by a clash (msg).
func clashPart(w *want, msg string) api.RefusedPart {
	return api.RefusedPart{Key: key{w.Name, w.Type}.String(), Reason: api.RefusedConflict, Message: msg}
}

func compareRefused(a, b api.RefusedPart) int {
	return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Reason, b.Reason),
		cmp.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
}

func clash(r *remote, w *want) string {
	msg := fmt.Sprintf("record %s %s exists and is not managed by conflux-sync (set adopt to take it over)", r.name, r.typ)
	if r.typ != w.Type {
		msg += fmt.Sprintf("; it blocks the desired %s %s", w.Name, w.Type)
	} else if w.TakeOver != nil {
		msg += "; the takeOver evidence does not prove it"
	}
	return msg
}

// sameRecord reports whether r already is w: no write needed.
func sameRecord(w *want, r *remote) bool { return len(recordChanges(w, r)) == 0 }

// recordChanges lists how r differs from w, remote value first ("ttl 1 ->
// 300"); none: no write needed. A record taken over keeps the previous
// controller's comment (it lacks our marker and w carries takeOver): the
// comment alone is no reason to write, and any other change writes our
// comment with it.
func recordChanges(w *want, r *remote) []string {
	var out []string
	if r.typ != w.Type {
		out = append(out, fmt.Sprintf("type %s -> %s", r.typ, w.Type))
	}
	if isDataType(w.Type) {
		out = append(out, dataChanges(w.Type, w.Data, r.data)...)
	} else if !sameContent(w.Type, w.Content, r.content) {
		out = append(out, fmt.Sprintf("content %s -> %s", shorten(r.content), shorten(w.Content)))
	}
	if r.ttl != w.TTL {
		out = append(out, fmt.Sprintf("ttl %d -> %d", r.ttl, w.TTL))
	}
	if r.proxied != w.Proxied {
		out = append(out, fmt.Sprintf("proxied %t -> %t", r.proxied, w.Proxied))
	}
	if (w.Type == "MX" || w.Type == "URI") && (r.priority == nil || w.Priority == nil || *r.priority != *w.Priority) {
		out = append(out, fmt.Sprintf("priority %s -> %s", orNone(r.priority), orNone(w.Priority)))
	}
	if !slices.Equal(r.tags, w.Tags) {
		out = append(out, fmt.Sprintf("tags %v -> %v", r.tags, w.Tags))
	}
	if r.comment != w.comment && (len(out) > 0 || w.TakeOver == nil || r.marked) {
		out = append(out, fmt.Sprintf("comment %q -> %q", shorten(r.comment), shorten(w.comment)))
	}
	return out
}

func orNone(p *int) string {
	if p == nil {
		return "(none)"
	}
	return fmt.Sprint(*p)
}

// sameValue reports whether r holds w's value: its data field by field
// for data types, else its content.
func sameValue(w *want, r *remote) bool {
	if isDataType(w.Type) {
		return len(dataChanges(w.Type, w.Data, r.data)) == 0
	}
	return sameContent(w.Type, w.Content, r.content)
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
	case "CNAME", "MX", "NS", "PTR":
		return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
	}
	return a == b
}
