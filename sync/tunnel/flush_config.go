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
// remote one first and writes only when the two differ, so a repeated or
// drift flush of an in-sync tunnel costs one GET and a change costs one PUT.
func (f *ConfigFlusher) Flush(ctx context.Context, req engine.Request) (engine.Outcome, error) {
	var t cfapi.Tunnel
	err := f.store.View(func(v *store.View) error {
		var err error
		t, err = cfapi.ResolveTunnel(v, req.Target.Name)
		return err
	})
	desired := req.Result.Desired
	if desired == nil {
		if errors.Is(err, cfapi.ErrTunnelNotReady) {
			return engine.Outcome{}, nil // no tunnel, no configuration
		}
		desired = emptyConfig
	}
	if err != nil {
		return engine.Outcome{}, err
	}
	// The configuration is written with the credentials of its tunnel.
	acct, err := f.clients.For(ctx, t.AccountID, t.Credentials)
	if err != nil {
		return engine.Outcome{}, err
	}
	path := fmt.Sprintf("/accounts/%s/cfd_tunnel/%s/configurations", acct.ID, t.ID)
	var remote remoteConfig
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
		if inSync(remote.Config, desired) {
			ids["version"] = fmt.Sprint(remote.Version)
			return engine.Outcome{DownstreamIDs: ids}, nil
		}
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
	f.log.Info("updated tunnel configuration", "target", req.Target.String(), "tunnel", t.ID, "version", remote.Version)
	ids["version"] = fmt.Sprint(remote.Version)
	return engine.Outcome{DownstreamIDs: ids}, nil
}

// remoteConfig is the result of GET and PUT .../configurations.
type remoteConfig struct {
	Config  json.RawMessage `json:"config"`
	Version int64           `json:"version"`
}

// lastFlushSucceeded reports whether the previous flush wrote (or found)
// a configuration on this tunnel without error.
func lastFlushSucceeded(prev *api.SyncStatus, tunnelID string) bool {
	return prev != nil && prev.Error == "" && prev.SyncedHash != "" && prev.DownstreamIDs[cfapi.IDTunnel] == tunnelID
}

// inSync compares the remote configuration with the desired one in
// canonical form.
func inSync(remote, desired json.RawMessage) bool {
	if len(remote) == 0 || bytes.Equal(remote, []byte("null")) {
		return false
	}
	canon, err := Canonical(remote)
	if err != nil {
		return false // unreadable remote: overwrite it
	}
	want, err := Canonical(desired)
	if err != nil {
		return false
	}
	return bytes.Equal(canon, want)
}
