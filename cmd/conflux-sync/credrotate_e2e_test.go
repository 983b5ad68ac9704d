package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/httpapi"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

// The credentials TestE2ECredentialRotation rotates from and to: strong,
// as a real deployment's (`openssl rand -hex 32`).
const (
	rotAdminOld = "a1d0e2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f809"
	rotAdminNew = "b2e1f3d4c5b6a7988796a5b4c3d2e1f0a9b8c7d6e5f4031928a7b6c5d4e3f201"
	rotCFOld    = "cf01d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1"
	rotCFNew    = "cf02e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2"
	rotCXOld    = "cx01f2e3d4c5b6a7988796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1"
	rotCXNew    = "cx02e3d4c5b6a7988796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	rotConfig   = "acme/shop/rotate/app.json"
)

// TestE2ECredentialRotation rotates every credential of three server
// processes — the admin API token, the Cloudflare API token and the
// Conflux token — under a running write load, as an operator would
// (docs/operations.md, "Rotating credentials"): the new credential is
// added where it is checked, the servers' files are rewritten (they reload
// them when they change, no restart), clients switch, and the old
// credential is revoked where it is checked: by a revoke: line in the
// token file, and through the emulators' /__emulator/tokens hook
// downstream. No client write fails, and after each downstream revocation
// the emulator keeps receiving writes, all with the new token.
func TestE2ECredentialRotation(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cfAddr := testutil.Addr(testutil.FreePort(t))
	cxAddr := testutil.Addr(testutil.FreePort(t))
	cfEmu := startBackground(t, "emulator", "cloudflare", "--addr", cfAddr, "--api-token", rotCFOld,
		"--account", e2eCFAccount, "--zone", "example.com", "--rate-limit", "0")
	cxEmu := startBackground(t, "emulator", "conflux", "--addr", cxAddr, "--api-token", rotCXOld)
	cfEmu.waitOutput(t, 20*time.Second, "Press Ctrl-C")
	cxEmu.waitOutput(t, 20*time.Second, "Press Ctrl-C")

	cfCreds := filepath.Join(dir, "cloudflare-credentials")
	cxToken := filepath.Join(dir, "conflux-token")
	writeFile(t, cfCreds, e2eCFAccount+":"+rotCFOld+"\n")
	writeFile(t, cxToken, rotCXOld+"\n")

	c := configureProcCluster(t, 3)
	writeFile(t, c.tokenFile, "admin:"+rotAdminOld+"\nadmin:"+e2eAdminToken+"\n")
	for i := range c.nodes {
		c.start(i, "--cloudflare-credentials", cfCreds, "--cloudflare-api-url", "http://"+cfAddr+"/client/v4",
			"--conflux-url", "http://"+cxAddr, "--conflux-token-file", cxToken,
			"--token-rotation-overlap", "10m", "--sync-debounce", "100ms", "--log-level", "info")
	}
	c.waitAllReady()
	leader := c.leader()
	// The tunnel the rules go to.
	c.putFragments(leader, map[string]any{"target": map[string]any{"kind": "cloudflare.Tunnel", "name": edgeTunnel},
		"source": map[string]any{"kind": "ClusterTunnel", "name": "edge"}, "generation": 1,
		"spec": map[string]any{"accountId": e2eCFAccount, "name": "edge"}})

	// The load: writers on every node, with the admin token the test
	// hands out (adminToken), alternating a tunnel rule (a Cloudflare
	// write) and a new Conflux release content (a Conflux publish).
	var adminToken atomic.Pointer[string]
	old := rotAdminOld
	adminToken.Store(&old)
	var (
		failMu   sync.Mutex
		failures []string
		expiring atomic.Int64 // answers that said the token is retiring
	)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &headerWatch{next: http.DefaultTransport, seen: &expiring}}
	var seq atomic.Int64
	w := testutil.StartWriter(func(i int) (string, error) {
		cl, err := api.NewClient(c.nodes[i%3].url(), api.WithToken(*adminToken.Load()), api.WithHTTPClient(hc))
		if err != nil {
			return "", err
		}
		n := seq.Add(1)
		frag := api.Fragment{
			Target:     api.TargetRef{Kind: tunnelKind, Name: edgeTunnel},
			Source:     api.SourceRef{Kind: "Ingress", Namespace: "default", Name: fmt.Sprintf("rot-%d", n)},
			Generation: 1,
			Spec:       json.RawMessage(fmt.Sprintf(`{"rules":[{"hostname":"r%d.example.com","service":"http://x.default.svc:80"}]}`, n)),
		}
		if n%2 == 0 {
			frag = api.Fragment{
				Target:     api.TargetRef{Kind: "conflux.Config", Name: rotConfig},
				Source:     api.SourceRef{Kind: "API", Name: "rotate"},
				Generation: n,
				Spec:       json.RawMessage(fmt.Sprintf(`{"config":{"format":"json"},"releases":[{"name":"r","content":"{\"v\":%d}","stable":true}]}`, n)),
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = cl.PutFragment(ctx, frag)
		if err != nil {
			failMu.Lock()
			failures = append(failures, fmt.Sprintf("write %d via %s: %v", n, c.nodes[i%3].id, err))
			failMu.Unlock()
		}
		return fmt.Sprintf("%s|%d", frag.Target.Kind, n), err
	})
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()
	progress := func(what string) {
		t.Helper()
		from := w.Count()
		eventually(t, 60*time.Second, "writes after "+what, func() error {
			if n := w.Count() - from; n < 20 {
				return fmt.Errorf("%d writes acknowledged", n)
			}
			return nil
		})
	}
	// reloaded waits until every node has reloaded credential n times.
	reloaded := func(credential string, n float64) {
		t.Helper()
		name := fmt.Sprintf(`conflux_credential_reloads_total{credential=%q,result="ok"}`, credential)
		eventually(t, 60*time.Second, "every node to reload "+credential, func() error {
			for i := range c.nodes {
				v, err := c.metric(i, name)
				if err != nil || v < n {
					return fmt.Errorf("%s: %v reloads (%v)", c.nodes[i].id, v, err)
				}
			}
			return nil
		})
	}
	downstreamWrites := func(emuAddr, token string) int {
		t.Helper()
		for _, u := range tokenUses(t, emuAddr) {
			if u.Fingerprint == httpapi.TokenFingerprint(token) {
				return u.Writes
			}
		}
		return 0
	}
	progress("the start")

	// 1. The admin token: the new one replaces the old one in the file.
	// Servers that loaded the file accept the old one for the overlap (and
	// say so in a header), the others still as listed: the writers need
	// not switch at any particular moment.
	writeFile(t, c.tokenFile, "admin:"+rotAdminNew+"\nadmin:"+e2eAdminToken+"\n")
	reloaded("tokens", 1)
	progress("the admin token file changed")
	if expiring.Load() == 0 {
		t.Error("no answer to a request with the retiring admin token carried " + httpapi.TokenExpiresHeader)
	}
	newAdmin := rotAdminNew
	adminToken.Store(&newAdmin)
	progress("the writers switched to the new admin token")
	// The old token leaked, say: a revoke: line ends its overlap at once.
	writeFile(t, c.tokenFile, "admin:"+rotAdminNew+"\nadmin:"+e2eAdminToken+"\nrevoke:"+httpapi.TokenFingerprint(rotAdminOld)+"\n")
	reloaded("tokens", 2)
	for i := range c.nodes {
		cl, err := api.NewClient(c.nodes[i].url(), api.WithToken(rotAdminOld))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Status(t.Context()); !api.IsCode(err, api.CodeUnauthenticated) {
			t.Errorf("%s: the revoked admin token got %v, want unauthenticated", c.nodes[i].id, err)
		}
	}
	progress("the old admin token was revoked")

	// 2. The Cloudflare token: added at Cloudflare, written to the
	// credentials file, loaded by every server, then revoked at Cloudflare.
	postEmulatorToken(t, cfAddr, http.MethodPost, map[string]any{"token": rotCFNew, "accounts": []string{e2eCFAccount}})
	writeFile(t, cfCreds, "# rotated\n"+e2eCFAccount+":"+rotCFNew+"\n")
	reloaded("cloudflare", 1)
	postEmulatorToken(t, cfAddr, http.MethodDelete, map[string]any{"token": rotCFOld})
	cfAtRevoke := downstreamWrites(cfAddr, rotCFNew)
	progress("the old Cloudflare token was revoked")

	// 3. The Conflux token, the same way.
	postEmulatorToken(t, cxAddr, http.MethodPost, map[string]any{"token": rotCXNew})
	writeFile(t, cxToken, rotCXNew+"\n")
	reloaded("conflux", 1)
	postEmulatorToken(t, cxAddr, http.MethodDelete, map[string]any{"token": rotCXOld})
	cxAtRevoke := downstreamWrites(cxAddr, rotCXNew)
	progress("the old Conflux token was revoked")

	// A bad file is refused and the credentials in force stay.
	writeFile(t, cxToken, "")
	eventually(t, 60*time.Second, "every node to refuse the empty Conflux token file", func() error {
		for i := range c.nodes {
			v, err := c.metric(i, `conflux_credential_reloads_total{credential="conflux",result="error"}`)
			if err != nil || v < 1 {
				return fmt.Errorf("%s: %v refusals (%v)", c.nodes[i].id, v, err)
			}
		}
		return nil
	})
	progress("the empty Conflux token file")

	acked := w.Stop()
	stopped = true
	failMu.Lock()
	if len(failures) > 0 {
		t.Errorf("%d of %d client writes failed during the rotations, want none; first: %s", len(failures), len(failures)+len(acked), failures[0])
	}
	failMu.Unlock()

	// Convergence continued downstream with the new tokens alone.
	cl := c.client(leader)
	for _, ref := range []api.TargetRef{{Kind: tunnelKind, Name: edgeTunnel}, {Kind: "conflux.Config", Name: rotConfig}} {
		eventually(t, 60*time.Second, ref.String()+" synced", func() error {
			tg, err := cl.GetTarget(t.Context(), ref)
			if err != nil {
				return err
			}
			if tg.Status == nil || tg.Status.SyncedHash != tg.Hash || tg.Status.Error != "" {
				return fmt.Errorf("hash %s, status %+v", tg.Hash, tg.Status)
			}
			return nil
		})
	}
	if n := downstreamWrites(cfAddr, rotCFNew); n <= cfAtRevoke {
		t.Errorf("Cloudflare saw %d writes with the new token after the old one was revoked, want more than %d", n, cfAtRevoke)
	}
	if n := downstreamWrites(cxAddr, rotCXNew); n <= cxAtRevoke {
		t.Errorf("Conflux saw %d writes with the new token after the old one was revoked, want more than %d", n, cxAtRevoke)
	}
	t.Logf("%d writes acknowledged; Cloudflare token uses %+v; Conflux token uses %+v", len(acked), tokenUses(t, cfAddr), tokenUses(t, cxAddr))

	// No credential reached a log; the retiring admin token was named
	// by its fingerprint.
	var logs strings.Builder
	for _, p := range c.nodes {
		raw, err := os.ReadFile(p.logPath)
		if err != nil {
			t.Fatal(err)
		}
		logs.Write(raw)
	}
	for _, secret := range []string{rotAdminOld, rotAdminNew, rotCFOld, rotCFNew, rotCXOld, rotCXNew} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a server logged the credential %s…", secret[:6])
		}
	}
	for _, want := range []string{"request with a retiring token", httpapi.TokenFingerprint(rotAdminOld), "Cloudflare credentials reloaded", "Conflux token reloaded", "Conflux token reload failed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the servers' logs lack %q", want)
		}
	}
}

// headerWatch counts answers that carry httpapi.TokenExpiresHeader.
type headerWatch struct {
	next http.RoundTripper
	seen *atomic.Int64
}

func (h *headerWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err == nil && resp.Header.Get(httpapi.TokenExpiresHeader) != "" {
		h.seen.Add(1)
	}
	return resp, err
}

// tokenUse is an entry of an emulator's GET /__emulator/tokens.
type tokenUse struct {
	Fingerprint string `json:"fingerprint"`
	Active      bool   `json:"active"`
	Requests    int    `json:"requests"`
	Writes      int    `json:"writes"`
	Rejected    int    `json:"rejected"`
}

func tokenUses(t *testing.T, emuAddr string) []tokenUse {
	t.Helper()
	resp, err := probeHTTP.Get("http://" + emuAddr + "/__emulator/tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []tokenUse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("GET /__emulator/tokens: %v", err)
	}
	return out
}

// postEmulatorToken adds (POST) or revokes (DELETE) a token of the
// emulator at emuAddr.
func postEmulatorToken(t *testing.T, emuAddr, method string, body map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, "http://"+emuAddr+"/__emulator/tokens", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := probeHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s /__emulator/tokens: %s", method, resp.Status)
	}
}

// writeFile replaces a file's content the way the kubelet updates a
// mounted Secret: a new file renamed over the old one, so a reader never
// sees it half written.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
