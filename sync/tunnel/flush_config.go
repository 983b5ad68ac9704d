package tunnel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

// emptyConfig is written when a tunnel's last configuration fragment is
// removed: every request gets a 404, which is what no rules means.
var emptyConfig = json.RawMessage(`{"ingress":[{"service":"http_status:404"}],"originRequest":{}}`)

// ConfigFlusher writes cloudflare.TunnelConfiguration targets. A target is
// named like the cloudflare.Tunnel target of its tunnel; the tunnel's id,
// account and credentials (static, or the Secret the tunnel names) come
// from that target's recorded status.
type ConfigFlusher struct {
	clients *cfapi.Clients
	store   *store.Store
	log     *slog.Logger
}

// NewConfigFlusher returns the flusher of tunnel configurations.
func NewConfigFlusher(clients *cfapi.Clients, st *store.Store, log *slog.Logger) *ConfigFlusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ConfigFlusher{clients: clients, store: st, log: log}
}

// Kind returns "cloudflare.TunnelConfiguration".
func (*ConfigFlusher) Kind() string { return cfapi.KindTunnelConfiguration }

// Flush PUTs the desired configuration. Unless the last flush of this
// tunnel succeeded (and this is not a drift or forced pass) it reads the
// remote one first and writes only when the two differ in meaning (see
// CompareConfigs), so a repeated or drift flush of an in-sync tunnel, or
// the first flush of a taken-over tunnel whose rules route every request
// alike, costs one GET and a change costs one PUT. A dry run (always a
// drift pass) plans the PUT with the differences, and waits for a tunnel
// its plan creates.
func (f *ConfigFlusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	var t cfapi.Tunnel
	resolve := cfapi.Resolver(req.DryRun)
	err := f.store.View(func(v *store.View) error {
		var err error
		t, err = resolve(v, req.Target.Name)
		return err
	})
	desired := req.Result.Desired
	switch {
	case desired == nil && (errors.Is(err, cfapi.ErrTunnelNotReady) || errors.Is(err, cfapi.ErrTunnelToBeCreated)):
		return engine.Outcome{}, nil // no tunnel, no configuration
	case desired == nil:
		desired = emptyConfig
	case errors.Is(err, cfapi.ErrTunnelToBeCreated):
		return engine.Outcome{Plan: []string{engine.PlanWaitsForTunnel(req.Target.Name)}}, nil
	}
	if err != nil {
		// A tunnel not created yet is waited for, not a failure: its own
		// flush (usually in the same pass) releases this one.
		return engine.Outcome{}, cfapi.WaitForTunnel(req.Target.Name, err)
	}
	// The configuration is written with the credentials of its tunnel.
	acct, err := f.clients.For(ctx, t.AccountID, t.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	path := fmt.Sprintf("/accounts/%s/cfd_tunnel/%s/configurations", acct.ID, t.ID)
	var remote remoteConfig
	var changes []string // why the remote differs, when it was read
	ids := cfapi.SetCredentials(map[string]string{cfapi.IDTunnel: t.ID}, t.Credentials)
	// A change flush of a tunnel whose last flush succeeded writes
	// without reading first: the remote holds what we last wrote, or an
	// edit the drift pass would overwrite anyway, and skipping the GET
	// halves the calls per change. Drift and forced passes, retries after
	// errors and a new tunnel id read first, so an in-sync tunnel costs
	// no write.
	if req.Drift || !lastFlushSucceeded(req.Prev, t.ID) {
		err = cfapi.Call(ctx, "get tunnel configuration", func(ctx context.Context) error {
			resp, err := acct.API.Raw(ctx, http.MethodGet, path, nil, nil)
			if err != nil {
				return err
			}
			return json.Unmarshal(resp.Result, &remote)
		})
		if err != nil {
			return engine.Outcome{}, err
		}
		var same bool
		same, changes = inSync(remote.Config, desired)
		if same {
			ids["version"] = fmt.Sprint(remote.Version)
			return engine.Outcome{DownstreamIDs: ids}, nil
		}
	}
	plan := updatePlan(t.ID, changes)
	if req.DryRun {
		return engine.Outcome{DownstreamIDs: ids, Plan: plan}, nil
	}
	// The body is the aggregate as it is, not cloudflare-go's struct:
	// that struct would drop originRequest fields it does not know.
	body := struct {
		Config json.RawMessage `json:"config"`
	}{desired}
	err = cfapi.Call(ctx, "update tunnel configuration", func(ctx context.Context) error {
		resp, err := acct.API.Raw(ctx, http.MethodPut, path, body, nil)
		if err != nil {
			return err
		}
		return json.Unmarshal(resp.Result, &remote)
	})
	if err != nil {
		return engine.Outcome{}, err
	}
	f.log.Info("updated tunnel configuration", "target", req.Target.String(), "tunnel", t.ID, "version", remote.Version, "changes", changes)
	ids["version"] = fmt.Sprint(remote.Version)
	return engine.Outcome{DownstreamIDs: ids, Plan: plan}, nil
}

// updatePlan is the plan of a PUT: one line per difference (changes, as
// CompareConfigs gives them); one line when the remote was not read.
func updatePlan(tunnelID string, changes []string) []string {
	if len(changes) == 0 {
		return []string{"update tunnel configuration of tunnel " + tunnelID + " (not read back: the last flush wrote it)"}
	}
	plan := make([]string, len(changes))
	for i, c := range changes {
		plan[i] = "update tunnel configuration: " + c
	}
	return plan
}

// remoteConfig is the result of GET and PUT .../configurations.
type remoteConfig struct {
	Config  json.RawMessage `json:"config"`
	Version int64           `json:"version"`
}

// lastFlushSucceeded reports whether the previous flush wrote (or found)
// a configuration on this tunnel without error. A plan (dry run) wrote
// nothing, and another controller may have written since.
func lastFlushSucceeded(prev *api.SyncStatus, tunnelID string) bool {
	return prev != nil && !prev.DryRun && prev.Error == "" && prev.SyncedHash != "" && prev.DownstreamIDs[cfapi.IDTunnel] == tunnelID
}

// inSync compares the remote configuration with the desired one by
// meaning (see CompareConfigs) and returns why they differ. A remote
// without a configuration (never written: JSON null) is never in sync.
func inSync(remote, desired json.RawMessage) (bool, []string) {
	if len(remote) == 0 || bytes.Equal(remote, []byte("null")) {
		return false, []string{"no remote configuration"}
	}
	return CompareConfigs(remote, desired)
}
