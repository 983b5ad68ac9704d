package dns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/cloudflare/cloudflare-go"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// Keys of Outcome.DownstreamIDs besides the per-record "<name> <type>
// <content>" entries (which always hold spaces, so they cannot collide).
const (
	IDAccount = "accountId"
	IDZone    = "zoneId"
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Clients *cfapi.Clients
	// Store is read for the tunnels that tunnel CNAMEs point at.
	Store  *store.Store
	Logger *slog.Logger
	// BatchSize caps the operations of one batch call; default (and
	// maximum) MaxBatch.
	BatchSize int
}

// Flusher writes a zone's desired records. It implements engine.Flusher.
type Flusher struct {
	cfg FlusherConfig
	log *slog.Logger
}

var _ engine.Flusher = (*Flusher)(nil)

// NewFlusher builds a Flusher.
func NewFlusher(cfg FlusherConfig) *Flusher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxBatch {
		cfg.BatchSize = MaxBatch
	}
	return &Flusher{cfg: cfg, log: cfg.Logger}
}

// Kind returns cfapi.KindDNSRecord.
func (f *Flusher) Kind() string { return cfapi.KindDNSRecord }

// Flush lists the zone's records once, works out the changes (see diff) and
// writes them through the batch endpoint, deletes first. One record never
// holds back the rest of its zone: records that clash with ones we do not
// own are left alone, and a change the API refuses is isolated (see
// apply); each is reported per record in Outcome.Refused (Conflict, or
// Refused with Cloudflare's code and message) while everything else is
// written and the flush succeeds. A dry run works out the same changes and
// returns them as the plan, writing nothing; a record pointing at a tunnel
// the plan creates makes the zone wait for it.
func (f *Flusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	if req.ClusterID == "" {
		return engine.Outcome{}, errors.New("the cluster id is not known yet, so the ownership marker cannot be built")
	}
	marker := cfapi.Marker(req.ClusterID)
	zone := req.Target.Name
	if fe := ValidateZoneName(zone); fe != nil {
		return engine.Outcome{}, engine.Permanent(fmt.Errorf("zone %q: %w", zone, fe))
	}
	var desired Desired
	accountID := ""
	var creds *api.SecretRef
	if req.Result.Desired != nil {
		if err := json.Unmarshal(req.Result.Desired, &desired); err != nil {
			return engine.Outcome{}, engine.Permanent(fmt.Errorf("zone %s: decode desired records: %w", zone, err))
		}
		accountID, creds = desired.AccountID, desired.Credentials
	} else if req.Prev != nil {
		// Nothing desired: clean up in the account we last wrote to, with
		// the credentials we wrote with.
		accountID = req.Prev.DownstreamIDs[IDAccount]
		var err error
		if creds, err = cfapi.CredentialsOf(req.Prev.DownstreamIDs); err != nil {
			return engine.Outcome{}, fmt.Errorf("zone %s: %w", zone, err)
		}
	}

	// Tunnels are resolved before anything is written. A CNAME whose
	// tunnel is not created yet waits, alone: the rest of the zone is
	// written, and the tunnel's flush rechecks the zone once it has an id.
	wants, tunnels, waiting, err := f.wants(desired.Records, marker, cfapi.Resolver(req.DryRun))
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("zone %s: %w", zone, err)
	}
	if creds == nil {
		// No Secret named for the zone: use that of a tunnel the zone
		// points at, in the zone's account.
		for _, t := range tunnels {
			if t.Credentials != nil && (accountID == "" || accountID == t.AccountID) {
				accountID, creds = t.AccountID, t.Credentials
				break
			}
		}
	}
	a, err := f.cfg.Clients.For(ctx, accountID, creds)
	if err != nil {
		return engine.Outcome{}, err
	}
	zoneID, err := f.cfg.Clients.ZoneID(ctx, a, zone)
	if err != nil {
		return engine.Outcome{}, err
	}

	var listed []cloudflare.DNSRecord
	err = cfapi.Call(ctx, "list DNS records of zone "+zone, func(ctx context.Context) error {
		var err error
		listed, _, err = a.API.ListDNSRecords(ctx, cloudflare.ZoneIdentifier(zoneID), cloudflare.ListDNSRecordsParams{})
		return err
	})
	if err != nil {
		return engine.Outcome{}, err
	}
	ownedIDs := prevRecordIDs(req.Prev)
	remotes := make([]remote, len(listed))
	for i, r := range listed {
		remotes[i] = fromAPI(r, marker, ownedIDs)
	}

	p := diff(wants, remotes, waiting)
	refused := p.clashes
	if !req.DryRun {
		r, err := f.apply(ctx, a, zone, zoneID, &p)
		if err != nil {
			return engine.Outcome{}, err
		}
		refused = append(refused, r...)
		slices.SortFunc(refused, compareRefused)
	}
	for _, r := range p.clashes {
		p.lines = append(p.lines, "not written: "+r.Message)
	}
	if len(refused) > 0 {
		f.log.Warn("dns: records not written", "zone", zone, "refused", len(refused))
	}
	if req.Result.Desired == nil {
		return engine.Outcome{DownstreamIDs: map[string]string{}, Plan: p.lines, Refused: refused}, nil
	}
	ids := cfapi.SetCredentials(p.ids, creds)
	ids[IDAccount], ids[IDZone] = a.ID, zoneID
	return engine.Outcome{DownstreamIDs: ids, Plan: p.lines, Waiting: waitingParts(waiting), Refused: refused}, nil
}

// waitingRecord is a desired tunnel CNAME whose tunnel has no id yet.
type waitingRecord struct {
	name, typ string
	// tunnel is the cloudflare.Tunnel target; created is true when a dry
	// run's plan creates it (else it is not created yet).
	tunnel  string
	created bool
}

func (w waitingRecord) reason() string {
	if w.created {
		return engine.PlanWaitsForTunnel(w.tunnel)
	}
	return "waits for tunnel " + w.tunnel + " (not created yet)"
}

func waitingParts(ws []waitingRecord) []api.WaitingPart {
	var out []api.WaitingPart
	for _, w := range ws {
		out = append(out, api.WaitingPart{Key: key{w.name, w.typ}.String(), For: strings.TrimPrefix(w.reason(), "waits for ")})
	}
	return out
}

// wants resolves tunnel references (through resolve) and builds the
// stored comments. It also returns the tunnels resolved, in record order,
// and the records that wait for their tunnel: not created yet
// (cfapi.ErrTunnelNotReady) or, in a dry run, created by the plan
// (cfapi.ErrTunnelToBeCreated). Those are left out of the wants.
func (f *Flusher) wants(recs []Record, marker string, resolve func(*store.View, string) (cfapi.Tunnel, error)) ([]want, []cfapi.Tunnel, []waitingRecord, error) {
	out := make([]want, 0, len(recs))
	needStore := false
	for _, r := range recs {
		out = append(out, want{Record: r, comment: cfapi.Comment(marker, r.Comment)})
		needStore = needStore || r.Tunnel != ""
	}
	if !needStore {
		return out, nil, nil, nil
	}
	if f.cfg.Store == nil {
		return nil, nil, nil, engine.Permanent(errors.New("tunnel CNAMEs need the store, which this flusher was not given"))
	}
	var (
		tunnels []cfapi.Tunnel
		waiting []waitingRecord
	)
	err := f.cfg.Store.View(func(v *store.View) error {
		ready := out[:0]
		for _, w := range out {
			if w.Tunnel != "" {
				t, err := resolve(v, w.Tunnel)
				switch {
				case errors.Is(err, cfapi.ErrTunnelToBeCreated), errors.Is(err, cfapi.ErrTunnelNotReady):
					waiting = append(waiting, waitingRecord{name: w.Name, typ: w.Type, tunnel: w.Tunnel,
						created: errors.Is(err, cfapi.ErrTunnelToBeCreated)})
					continue
				case err != nil:
					// A store read error, or a status that does not decode.
					return fmt.Errorf("record %s CNAME: %w", w.Name, err)
				}
				w.Content = t.CNAME()
				w.tunnel = t
				tunnels = append(tunnels, t)
			}
			ready = append(ready, w)
		}
		out = ready
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return out, tunnels, waiting, nil
}

// prevRecordIDs is the set of record ids the last outcome recorded as ours:
// a record whose comment lost the marker out of band is still ours.
func prevRecordIDs(prev *api.SyncStatus) map[string]bool {
	ids := map[string]bool{}
	if prev == nil {
		return ids
	}
	for k, id := range prev.DownstreamIDs {
		if strings.Contains(k, " ") && id != "" {
			ids[id] = true
		}
	}
	return ids
}

type batchRequest struct {
	Deletes []batchID    `json:"deletes,omitempty"`
	Patches []recordBody `json:"patches,omitempty"`
	Posts   []recordBody `json:"posts,omitempty"`
}

type batchID struct {
	ID string `json:"id"`
}

type batchResult struct {
	Posts []cloudflare.DNSRecord `json:"posts"`
}

// change is one operation of a batch: a delete (id alone), a patch (body
// with its id) or a post (body without).
type change struct {
	del  string
	body recordBody
	// key is the record's "<name> <TYPE>", naming a refused change.
	key string
}

func (c change) kind() string {
	switch {
	case c.del != "":
		return "delete"
	case c.body.ID != "":
		return "patch"
	}
	return "post"
}

// request builds the batch body of changes, which keep their order
// (deletes, then patches, then posts).
func request(changes []change) batchRequest {
	var body batchRequest
	for _, c := range changes {
		switch c.kind() {
		case "delete":
			body.Deletes = append(body.Deletes, batchID{c.del})
		case "patch":
			body.Patches = append(body.Patches, c.body)
		default:
			body.Posts = append(body.Posts, c.body)
		}
	}
	return body
}

// apply sends the plan in calls of at most BatchSize operations: all
// deletes first (so a record changing type or a freed name never collides),
// then patches, then posts. Each call is all-or-nothing at Cloudflare, so
// one change the API refuses (a 4xx other than 401, 403 and 429: invalid
// content, a name taken by a record made meanwhile) would fail every other
// change of its call: a refused call is split in halves, in order, until
// the refused changes are alone, and every other change is written. The
// refused ones are returned, one part each with the API's code and
// message; a delete of a record already gone counts as done. Any other
// failure ends the flush; what was written stays, and the next flush reads
// it back and finishes.
func (f *Flusher) apply(ctx context.Context, a *cfapi.Account, zone, zoneID string, p *plan) ([]api.RefusedPart, error) {
	changes := make([]change, 0, len(p.deletes)+len(p.patches)+len(p.posts))
	for _, id := range p.deletes {
		changes = append(changes, change{del: id, key: p.names[id]})
	}
	for _, b := range p.patches {
		changes = append(changes, change{body: b, key: strings.ToLower(b.Name) + " " + b.Type})
	}
	for _, b := range p.posts {
		changes = append(changes, change{body: b, key: strings.ToLower(b.Name) + " " + b.Type})
	}
	w := batchWriter{f: f, a: a, zone: zone, zoneID: zoneID, p: p}
	for len(changes) > 0 {
		n := min(f.cfg.BatchSize, len(changes))
		if err := w.write(ctx, changes[:n]); err != nil {
			return nil, err
		}
		changes = changes[n:]
	}
	return w.refused, nil
}

// batchWriter writes the changes of one flush and collects the refused.
type batchWriter struct {
	f            *Flusher
	a            *cfapi.Account
	zone, zoneID string
	p            *plan
	calls        int
	refused      []api.RefusedPart
}

// write sends changes in one call, isolating refused changes by halving.
// A refusal costs at most 2·log2(len(changes)) more calls per refused
// change, and nothing when every change is accepted.
func (w *batchWriter) write(ctx context.Context, changes []change) error {
	w.calls++
	body := request(changes)
	var raw cloudflare.RawResponse
	err := cfapi.Call(ctx, fmt.Sprintf("write DNS records of zone %s (batch %d)", w.zone, w.calls), func(ctx context.Context) error {
		var err error
		raw, err = w.a.API.Raw(ctx, http.MethodPost, "/zones/"+w.zoneID+"/dns_records/batch", body, nil)
		return err
	})
	switch {
	case err == nil:
	case !refusal(err):
		return err
	case len(changes) > 1:
		half := len(changes) / 2
		if err := w.write(ctx, changes[:half]); err != nil {
			return err
		}
		return w.write(ctx, changes[half:])
	case changes[0].kind() == "delete" && cfapi.StatusOf(err) == http.StatusNotFound:
		return nil // already gone
	default:
		w.refused = append(w.refused, refusedPart(changes[0], err))
		w.f.log.Warn("dns: change refused", "zone", w.zone, "change", changes[0].kind(), "record", changes[0].key, "err", err)
		return nil
	}
	var res batchResult
	if err := json.Unmarshal(raw.Result, &res); err != nil {
		return fmt.Errorf("zone %s: read batch result: %w", w.zone, err)
	}
	for i, r := range res.Posts {
		content := r.Content
		if i < len(body.Posts) && strings.EqualFold(body.Posts[i].Name, r.Name) && body.Posts[i].Type == r.Type {
			content = body.Posts[i].Content
			if isDataType(r.Type) {
				// Keyed by our presentation, as diff keys data records.
				content = presentation(r.Type, body.Posts[i].Data)
			}
		}
		w.p.ids[idKey(strings.ToLower(r.Name), r.Type, content)] = r.ID
	}
	w.f.log.Info("dns: batch written", "zone", w.zone, "deletes", len(body.Deletes),
		"patches", len(body.Patches), "posts", len(body.Posts))
	return nil
}

// refusal reports whether the API refused the content of a batch (a 4xx
// about its changes), as opposed to the call (authentication, permission,
// rate limit) or no answer at all.
func refusal(err error) bool {
	switch s := cfapi.StatusOf(err); s {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return false
	default:
		return s >= 400 && s < 500
	}
}

// refusedPart reports one refused change with the API's code and message.
func refusedPart(c change, err error) api.RefusedPart {
	part := api.RefusedPart{Key: c.key, Reason: api.RefusedByDownstream, Message: err.Error()}
	if r, ok := cfapi.ReasonOf(err); ok {
		part.Code, part.Message = r.Code, fmt.Sprintf("%s (code %d)", r.Message, r.Code)
	}
	part.Message = fmt.Sprintf("Cloudflare refused the %s of record %s: %s", c.kind(), c.key, part.Message)
	return part
}
