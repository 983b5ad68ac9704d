package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/server"
)

// tfCall is one request to the Terraform state backend as Terraform's http
// backend makes it: Basic auth with the token as password, Content-MD5 on
// a body.
type tfCall struct {
	method, path string
	body         string
	// auth: "basic" (default, the write token), "bearer", "none", or
	// "basic:TOKEN".
	auth string
	// md5, when set, replaces the body's Content-MD5 ("-": none).
	md5 string
}

type tfAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a tfAnswer) apiError(t testing.TB) api.Error {
	t.Helper()
	var eb api.ErrorBody
	if err := json.Unmarshal(a.body, &eb); err != nil {
		t.Fatalf("answer %d is not an API error: %s", a.status, a.body)
	}
	return eb.Error
}

func tfDo(t testing.TB, base string, c tfCall) tfAnswer {
	t.Helper()
	var rd io.Reader
	if c.body != "" {
		rd = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.auth == "" || c.auth == "basic":
		req.SetBasicAuth("terraform", writeToken)
	case c.auth == "bearer":
		req.Header.Set("Authorization", "Bearer "+writeToken)
	case strings.HasPrefix(c.auth, "basic:"):
		req.SetBasicAuth("terraform", strings.TrimPrefix(c.auth, "basic:"))
	}
	if c.body != "" {
		sum := md5.Sum([]byte(c.body))
		switch c.md5 {
		case "":
			req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		case "-":
		default:
			req.Header.Set("Content-MD5", c.md5)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return tfAnswer{resp.StatusCode, resp.Header, body}
}

func tfStateJSON(serial int) string {
	return fmt.Sprintf(`{"version":4,"terraform_version":"1.11.4","serial":%d,"lineage":"3a1c0d9e-lineage","outputs":{},"resources":[],"check_results":null}`+"\n", serial)
}

func tfLockJSON(id string) string {
	return fmt.Sprintf(`{"ID":%q,"Operation":"OperationTypeApply","Info":"","Who":"alice@ci-runner","Version":"1.11.4","Created":"2026-12-07T20:00:00Z","Path":""}`, id)
}

// Bad input to the state backend is a 400 naming the field; missing or
// wrong credentials a 401 that challenges for Basic auth (what Terraform
// sends); a read token a 403 — state holds secrets.
func TestTFStateHandlerValidation(t *testing.T) {
	c := newTestCluster(t, 1)
	base := c.nodes[0].URL()
	const ws = "/v1/terraform/state/prod"
	for _, tc := range []struct {
		name   string
		call   tfCall
		status int
		field  string
	}{
		{"workspace starting with a dash", tfCall{method: "GET", path: "/v1/terraform/state/-prod"}, 400, "workspace"},
		{"workspace with an escaped slash", tfCall{method: "GET", path: "/v1/terraform/state/a%2Fb"}, 400, "workspace"},
		{"workspace too long", tfCall{method: "GET", path: "/v1/terraform/state/" + strings.Repeat("a", 129)}, 400, "workspace"},
		{"Content-MD5 of other bytes", tfCall{method: "POST", path: ws, body: tfStateJSON(1), md5: "1B2M2Y8AsgTpgAmY7PhCfg=="}, 400, "Content-MD5"},
		{"Content-MD5 not base64", tfCall{method: "POST", path: ws, body: tfStateJSON(1), md5: "not base64!"}, 400, "Content-MD5"},
		{"state not JSON", tfCall{method: "POST", path: ws, body: "serial = 1"}, 400, "body"},
		{"state without a lineage", tfCall{method: "POST", path: ws, body: `{"version":4,"serial":1}`}, 400, "body"},
		{"empty state", tfCall{method: "POST", path: ws}, 400, "body"},
		{"lock info not JSON", tfCall{method: "LOCK", path: ws, body: "ID=1"}, 400, "body"},
		{"lock info without ID", tfCall{method: "LOCK", path: ws, body: `{"Who":"alice"}`}, 400, "ID"},
		{"lock without lock info", tfCall{method: "LOCK", path: ws}, 400, "body"},
		{"unlock info without ID", tfCall{method: "UNLOCK", path: ws, body: `{"ID":""}`}, 400, "ID"},
		{"version not a number", tfCall{method: "GET", path: ws + "/versions/latest"}, 400, "version"},
		{"version zero", tfCall{method: "POST", path: ws + "/versions/0/restore"}, 400, "version"},
		{"force not a boolean", tfCall{method: "POST", path: ws + "/versions/1/restore?force=maybe"}, 400, "force"},
		{"no credentials", tfCall{method: "GET", path: ws, auth: "none"}, 401, ""},
		{"wrong password", tfCall{method: "GET", path: ws, auth: "basic:" + strings.Repeat("0f", 32)}, 401, ""},
		{"read token", tfCall{method: "GET", path: ws, auth: "basic:" + readToken}, 403, ""},
		{"read token, versions", tfCall{method: "GET", path: "/v1/terraform/state", auth: "basic:" + readToken}, 403, ""},
		{"unknown version", tfCall{method: "GET", path: ws + "/versions/3"}, 404, "version"},
		{"versions of an unknown workspace", tfCall{method: "GET", path: "/v1/terraform/state/nobody/versions"}, 404, "workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tfDo(t, base, tc.call)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status == 401 {
				if got := a.header.Values("WWW-Authenticate"); len(got) == 0 || !strings.HasPrefix(got[0], "Basic ") {
					t.Errorf("WWW-Authenticate %q, want a Basic challenge first", got)
				}
			}
			if e := a.apiError(t); e.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", e.Field, tc.field, e.Message)
			}
			if bytes.Contains(a.body, []byte(writeToken)) || bytes.Contains(a.body, []byte(readToken)) {
				t.Errorf("the answer echoes a token: %s", a.body)
			}
		})
	}

	// No state yet: 204, which Terraform reads as an empty state; Bearer
	// works as well as Basic.
	if a := tfDo(t, base, tfCall{method: "GET", path: ws, auth: "bearer"}); a.status != http.StatusNoContent {
		t.Fatalf("GET of a new workspace: %d %s, want 204", a.status, a.body)
	}

	// The lock: held by run-a, every other caller gets 423 with run-a's
	// lock info as the body, as Terraform's http backend reads it.
	if a := tfDo(t, base, tfCall{method: "LOCK", path: ws, body: tfLockJSON("run-a")}); a.status != 200 {
		t.Fatalf("LOCK: %d %s", a.status, a.body)
	}
	for _, call := range []tfCall{
		{method: "LOCK", path: ws, body: tfLockJSON("run-b")},
		{method: "POST", path: ws, body: tfStateJSON(1)},
		{method: "POST", path: ws + "?ID=run-b", body: tfStateJSON(1)},
		{method: "UNLOCK", path: ws, body: tfLockJSON("run-b")},
		{method: "DELETE", path: ws},
	} {
		a := tfDo(t, base, call)
		var info struct {
			ID, Who string
			Error   api.Error `json:"error"`
		}
		if err := json.Unmarshal(a.body, &info); err != nil || a.status != http.StatusLocked || info.ID != "run-a" || info.Who != "alice@ci-runner" || info.Error.Code != api.CodeLocked {
			t.Errorf("%s %s while run-a holds the lock: %d %s; want 423 with run-a's lock info", call.method, call.path, a.status, a.body)
		}
	}
	state := tfStateJSON(1)
	a := tfDo(t, base, tfCall{method: "POST", path: ws + "?ID=run-a", body: state})
	if a.status != 200 {
		t.Fatalf("POST by the holder: %d %s", a.status, a.body)
	}
	got := tfDo(t, base, tfCall{method: "GET", path: ws})
	sum := md5.Sum([]byte(state))
	if got.status != 200 || string(got.body) != state || got.header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("GET after the write: %d %q (Content-MD5 %q), want the bytes written", got.status, got.body, got.header.Get("Content-MD5"))
	}
	if a := tfDo(t, base, tfCall{method: "UNLOCK", path: ws, body: tfLockJSON("run-a")}); a.status != 200 {
		t.Fatalf("UNLOCK by the holder: %d %s", a.status, a.body)
	}
	// A write naming a lock that is no longer held is refused (409): the
	// lock was cleared under it.
	if a := tfDo(t, base, tfCall{method: "POST", path: ws + "?ID=run-a", body: tfStateJSON(2)}); a.status != http.StatusConflict || a.apiError(t).Field != "ID" {
		t.Fatalf("POST with a released lock id: %d %s, want 409 on ID", a.status, a.body)
	}
}

// A state write over --max-request-body is a clear 413 naming the flag.
func TestTFStateBodyLimit(t *testing.T) {
	c := newTestClusterWith(t, 1, func(cfg *server.Config) { cfg.API.Requests.MaxRequestBody = 4096 })
	big := `{"version":4,"serial":1,"lineage":"x","pad":"` + strings.Repeat("x", 8192) + `"}`
	a := tfDo(t, c.nodes[0].URL(), tfCall{method: "POST", path: "/v1/terraform/state/big", body: big})
	if e := a.apiError(t); a.status != http.StatusRequestEntityTooLarge || !strings.Contains(e.Message, "--max-request-body") {
		t.Fatalf("%d %s, want 413 naming --max-request-body", a.status, a.body)
	}
}

// Writes made through a follower are forwarded to the leader, acknowledged
// once committed, and readable on every node; the state, its versions and
// its lock ride in a snapshot restored into a fresh cluster.
func TestTFStateForwardedAndInSnapshot(t *testing.T) {
	c := newTestCluster(t, 3)
	f := c.nodes[c.follower()].URL()
	const ws = "/v1/terraform/state/net"
	for serial := 1; serial <= 3; serial++ {
		if a := tfDo(t, f, tfCall{method: "POST", path: ws, body: tfStateJSON(serial)}); a.status != 200 {
			t.Fatalf("POST through a follower: %d %s", a.status, a.body)
		}
	}
	if a := tfDo(t, f, tfCall{method: "LOCK", path: ws, body: tfLockJSON("left-behind")}); a.status != 200 {
		t.Fatalf("LOCK through a follower: %d %s", a.status, a.body)
	}
	for i := range c.nodes {
		if a := tfDo(t, c.nodes[i].URL(), tfCall{method: "GET", path: ws}); a.status != 200 || string(a.body) != tfStateJSON(3) {
			t.Fatalf("GET on node %d: %d %q", i, a.status, a.body)
		}
	}
	snap := saveSnapshot(t, c, c.leader())

	fresh := newTestCluster(t, 3)
	if _, err := fresh.client(fresh.follower(), adminToken).RestoreSnapshot(context.Background(), bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	cl := fresh.client(fresh.follower(), writeToken)
	body, err := cl.TFState(context.Background(), "net", 0)
	if err != nil || string(body) != tfStateJSON(3) {
		t.Fatalf("state after the restore: %q, %v", body, err)
	}
	list, err := cl.TFWorkspaces(context.Background())
	if err != nil || len(list) != 1 || list[0].Lock == nil || list[0].Lock.ID != "left-behind" {
		t.Fatalf("workspaces after the restore: %+v, %v", list, err)
	}
	vs, err := cl.TFStateVersions(context.Background(), "net")
	if err != nil || len(vs) != 3 || !vs[2].Current {
		t.Fatalf("versions after the restore: %+v, %v", vs, err)
	}
	// The lock a lost run left behind is cleared the way force-unlock
	// does it, and the restored cluster takes writes.
	if _, err := cl.UnlockTFState(context.Background(), "net", "", true); err != nil {
		t.Fatal(err)
	}
	if res, err := cl.RestoreTFState(context.Background(), "net", 1, "", false); err != nil || res.Version != 4 {
		t.Fatalf("restore of version 1: %+v, %v", res, err)
	}
	if body, _ := cl.TFState(context.Background(), "net", 0); string(body) != tfStateJSON(1) {
		t.Fatalf("current state after restoring version 1: %q", body)
	}
}
