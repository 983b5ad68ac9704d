package dns

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
)

// The TXT registries of the controllers conflux-sync takes records over
// from (see api.DNSTakeOver). Their entries are evidence only: never
// desired, never written; one is deleted together with the record of ours
// it claims, so that no stale claim outlives the record.
const (
	// cfargotunnelPrefix names the TXT record beside each record
	// adyanth/cloudflare-operator made: "_managed.<name>".
	cfargotunnelPrefix = "_managed."
	// strrlPrefix names the TXT record beside each CNAME
	// STRRL/cloudflare-tunnel-ingress-controller made: "_ctic_managed.<name>".
	strrlPrefix = "_ctic_managed."
	// strrlController is the controller STRRL's entries name.
	strrlController = "strrl.dev/cloudflare-tunnel-ingress-controller"
)

// cfargotunnelEntry is the content of a "_managed.<name>" TXT record:
// {"DnsId": <record id>, "TunnelName": ..., "TunnelId": <tunnel id>}.
type cfargotunnelEntry struct {
	DNSID    string `json:"DnsId"`
	TunnelID string `json:"TunnelId"`
}

// strrlEntry is the content of a "_ctic_managed.<name>" TXT record. Field
// order and encoding are STRRL's: its entries are compared byte for byte.
type strrlEntry struct {
	Controller string `json:"controller"`
	Tunnel     string `json:"tunnel"`
}

// strrlContent is the exact entry STRRL writes for a CNAME to the tunnel
// named tunnelName (in Cloudflare).
func strrlContent(tunnelName string) string {
	b, _ := json.Marshal(strrlEntry{Controller: strrlController, Tunnel: tunnelName}) // strings only: cannot fail
	return string(b)
}

// prove marks as ours every record that is not ours yet and that the
// takeover evidence of a desired record of the same name and type proves.
// Such a record is then kept (or patched, or deleted) like any of ours;
// it is recorded by id, so it stays ours when the evidence goes.
func prove(wants []want, remotes []remote) {
	byName := map[string][]int{}
	for i := range remotes {
		byName[remotes[i].name] = append(byName[remotes[i].name], i)
	}
	for i := range wants {
		w := &wants[i]
		if w.TakeOver == nil {
			continue
		}
		for _, j := range byName[w.Name] {
			r := &remotes[j]
			if r.owned || r.typ != w.Type {
				continue
			}
			if proof, ok := proves(w, r, remotes, byName); ok {
				r.owned, r.proof = true, proof
			}
		}
	}
}

// proves reports whether w's evidence proves r: r's id is among the record
// ids, or w's registry holds an entry for r and w's tunnel. proof says
// which, for the plan.
func proves(w *want, r *remote, remotes []remote, byName map[string][]int) (proof string, ok bool) {
	if slices.Contains(w.TakeOver.RecordIDs, r.id) {
		return "takeOver.recordIds names its id", true
	}
	switch w.TakeOver.Registry {
	case api.DNSRegistryCfargotunnel:
		for _, j := range byName[cfargotunnelPrefix+w.Name] {
			e, ok := parseCfargotunnel(&remotes[j])
			if ok && e.DNSID == r.id && w.tunnel.ID != "" && strings.EqualFold(e.TunnelID, w.tunnel.ID) {
				return "TXT " + remotes[j].name + " names this tunnel", true
			}
		}
	case api.DNSRegistrySTRRL:
		if w.tunnel.Name == "" {
			return "", false // the tunnel's name is not known: nothing to compare with
		}
		entry := strrlContent(w.tunnel.Name)
		for _, j := range byName[strrlPrefix+w.Name] {
			if t := &remotes[j]; t.typ == "TXT" && txtValue(t.content) == entry {
				return "TXT " + t.name + " names tunnel " + w.tunnel.Name, true
			}
		}
	}
	return "", false
}

// registryClaims lists the registry TXT records (not ours, not kept) that
// claim a record in deleted: a "_managed.<name>" entry whose DnsId is the
// deleted record's id, or a "_ctic_managed.<name>" STRRL entry beside a
// deleted CNAME.
func registryClaims(remotes []remote, used []bool, deleted []int) []int {
	if len(deleted) == 0 {
		return nil
	}
	names := make(map[string]string, len(deleted)) // deleted record id → name
	cnames := map[string]bool{}
	for _, i := range deleted {
		names[remotes[i].id] = remotes[i].name
		if remotes[i].typ == "CNAME" {
			cnames[remotes[i].name] = true
		}
	}
	var out []int
	for i := range remotes {
		r := &remotes[i]
		if r.typ != "TXT" || r.owned || used[i] {
			continue
		}
		if name, ok := strings.CutPrefix(r.name, cfargotunnelPrefix); ok {
			if e, ok := parseCfargotunnel(r); ok && names[e.DNSID] == name {
				out = append(out, i)
			}
		} else if name, ok := strings.CutPrefix(r.name, strrlPrefix); ok && cnames[name] && isSTRRLEntry(r) {
			out = append(out, i)
		}
	}
	return out
}

// parseCfargotunnel reads a "_managed.<name>" TXT entry.
func parseCfargotunnel(r *remote) (cfargotunnelEntry, bool) {
	var e cfargotunnelEntry
	if r.typ != "TXT" || json.Unmarshal([]byte(txtValue(r.content)), &e) != nil || e.DNSID == "" {
		return cfargotunnelEntry{}, false
	}
	return e, true
}

// isSTRRLEntry reports whether a TXT record is an entry of STRRL's
// controller, for any tunnel.
func isSTRRLEntry(r *remote) bool {
	var e strrlEntry
	return json.Unmarshal([]byte(txtValue(r.content)), &e) == nil && e.Controller == strrlController
}

// txtValue is the text of TXT content, which may come back in the DNS
// presentation form, wrapped in quotes.
func txtValue(content string) string {
	if len(content) < 2 || content[0] != '"' || content[len(content)-1] != '"' {
		return content
	}
	if v, err := strconv.Unquote(content); err == nil {
		return v
	}
	return content[1 : len(content)-1]
}
