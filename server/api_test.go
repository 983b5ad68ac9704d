package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/internal/testutil"
)

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func rawRequest(t *testing.T, method, url, token, body string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp.StatusCode, resp.Header, b}
}

const validFragment = `{"target":{"kind":"cloudflare.TunnelConfiguration","name":"ClusterTunnel/edge"},
 "source":{"kind":"Ingress","namespace":"default","name":"web"},"generation":1,
 "spec":{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://web.default.svc:80"}]}}`

// Every bad request gets its status, code and field, and leaves the state
// exactly as it was — on every node.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	res, err := c.client(0, writeToken).PutFragment(ctx, tunnelFragment("keep", 1, "keep.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	before := c.converge(res.Index)
	big := strings.Replace(validFragment, `"hostname"`, `"originRequest":{"caPool":"`+strings.Repeat("x", 1<<20)+`"},"hostname"`, 1)

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		code, field                     string
	}{
		{"no token", "PUT", "/v1/fragments", "", validFragment, 401, api.CodeUnauthenticated, ""},
		{"unknown token", "PUT", "/v1/fragments", "nope-nope-nope-nope", validFragment, 401, api.CodeUnauthenticated, ""},
		{"read token writes", "PUT", "/v1/fragments", readToken, validFragment, 403, api.CodeForbidden, ""},
		{"write token restores", "PUT", "/v1/snapshot", writeToken, "x", 403, api.CodeForbidden, ""},
		{"malformed JSON", "PUT", "/v1/fragments", writeToken, `{"target":`, 400, api.CodeBadRequest, ""},
		{"trailing data", "PUT", "/v1/fragments", writeToken, validFragment + `{}`, 400, api.CodeBadRequest, ""},
		{"unknown field", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `"generation"`, `"generatoin"`, 1), 400, api.CodeBadRequest, "generatoin"},
		{"wrong type", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `"generation":1`, `"generation":"1"`, 1), 400, api.CodeBadRequest, "generation"},
		{"missing source name", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `"name":"web"`, `"name":""`, 1), 400, api.CodeBadRequest, "source.name"},
		{"unknown kind", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, "cloudflare.TunnelConfiguration", "cloudflare.Nope", 1), 400, api.CodeBadRequest, "target.kind"},
		{"spec not an object", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `"spec":{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://web.default.svc:80"}]}`, `"spec":[]`, 1), 400, api.CodeBadRequest, "spec"},
		{"invalid service", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, "http://web.default.svc:80", "web", 1), 422, api.CodeInvalidSpec, "spec.rules[0].service"},
		{"port in hostname", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, "app.example.com", "app.example.com:8080", 1), 422, api.CodeInvalidSpec, "spec.rules[0].hostname"},
		{"bad path regex", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `^/api`, `*`, 1), 422, api.CodeInvalidSpec, "spec.rules[0].path"},
		{"settings from an Ingress", "PUT", "/v1/fragments", writeToken, strings.Replace(validFragment, `"rules":`, `"settings":{"warpRouting":true},"rules":`, 1), 422, api.CodeInvalidSpec, "spec.settings"},
		{"over the size limit", "PUT", "/v1/fragments", writeToken, big, 413, api.CodeTooLarge, ""},
		{"delete missing", "DELETE", "/v1/fragments?target.kind=cloudflare.TunnelConfiguration&target.name=x&source.kind=API&source.name=y", writeToken, "", 404, api.CodeNotFound, ""},
		{"delete without source", "DELETE", "/v1/fragments?target.kind=cloudflare.TunnelConfiguration&target.name=x", writeToken, "", 400, api.CodeBadRequest, "source.kind"},
		{"replace with duplicate target", "PUT", "/v1/source-fragments", writeToken, `{"source":{"kind":"API","name":"a"},"fragments":[
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"t"},"generation":1,"spec":{"rules":[{"hostname":"a.example.com","service":"http://a:80"}]}},
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"t"},"generation":1,"spec":{"rules":[{"hostname":"b.example.com","service":"http://a:80"}]}}]}`, 400, api.CodeBadRequest, "fragments[1].target"},
		{"replace with one bad fragment", "PUT", "/v1/source-fragments", writeToken, `{"source":{"kind":"API","name":"a"},"fragments":[
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"t"},"generation":1,"spec":{"rules":[{"hostname":"a.example.com","service":"http://a:80"}]}},
			{"target":{"kind":"cloudflare.TunnelConfiguration","name":"u"},"generation":1,"spec":{"rules":[{"hostname":"b.example.com","service":"nope"}]}}]}`, 422, api.CodeInvalidSpec, "fragments[1].spec.rules[0].service"},
		{"unknown target", "GET", "/v1/targets/cloudflare.TunnelConfiguration/ClusterTunnel/none", readToken, "", 404, api.CodeNotFound, ""},
		{"bad consistency", "GET", "/v1/fragments?consistency=eventual", readToken, "", 400, api.CodeBadRequest, "consistency"},
		{"unknown route", "GET", "/v1/nope", readToken, "", 404, api.CodeNotFound, ""},
		{"wrong method", "POST", "/v1/fragments", writeToken, validFragment, 405, api.CodeMethodNotAllowed, ""},
		{"remove unknown peer", "DELETE", "/v1/peers/node-9", adminToken, "", 404, api.CodeNotFound, "id"},
		{"delete unknown source", "DELETE", "/v1/sources?source.kind=API&source.name=ghost", writeToken, "", 404, api.CodeNotFound, ""},
		{"corrupt snapshot", "PUT", "/v1/snapshot", adminToken, "garbage", 400, api.CodeBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, node := range []int{c.leader(), c.follower()} {
				r := rawRequest(t, tc.method, c.nodes[node].URL()+tc.path, tc.token, tc.body)
				var eb api.ErrorBody
				if err := json.Unmarshal(r.body, &eb); err != nil {
					t.Fatalf("node %d: status %d, body is not the JSON error shape: %s", node, r.status, r.body)
				}
				if r.status != tc.status || eb.Error.Code != tc.code || eb.Error.Field != tc.field || eb.Error.Message == "" {
					t.Fatalf("node %d: got %d %+v, want %d code=%s field=%q", node, r.status, eb.Error, tc.status, tc.code, tc.field)
				}
			}
		})
	}
	if after := c.converge(c.lastIndex()); after != before {
		t.Fatalf("bad requests changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestConsistencyModes(t *testing.T) {
	c := newTestCluster(t, 3)
	res, err := c.client(0, writeToken).PutFragment(context.Background(), tunnelFragment("web", 1, "a.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	c.converge(res.Index)
	leaderID := c.cfgs[c.leader()].NodeID
	f := c.follower()
	for _, tc := range []struct {
		query  string
		served string
	}{
		{"?consistency=stale", c.cfgs[f].NodeID},
		{"", leaderID},
		{"?consistency=default", leaderID},
		{"?consistency=consistent", leaderID},
	} {
		r := rawRequest(t, "GET", c.nodes[f].URL()+"/v1/fragments"+tc.query, readToken, "")
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", tc.query, r.status, r.body)
		}
		if got := r.header.Values("X-Conflux-Node"); len(got) != 1 || got[0] != tc.served {
			t.Errorf("%q served by %v, want %s", tc.query, got, tc.served)
		}
		if r.header.Get("X-Conflux-Index") == "" {
			t.Errorf("%q: no X-Conflux-Index header", tc.query)
		}
	}
}

func TestReplaceSourceFragmentsThroughTheAPI(t *testing.T) {
	c := newTestCluster(t, 3)
	ctx := context.Background()
	cl := c.client(c.follower(), writeToken)
	src := api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}
	frag := func(target, host string) api.SourceFragment {
		return api.SourceFragment{
			Target: api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: target}, Generation: 1,
			Spec: []byte(`{"rules":[{"hostname":"` + host + `","service":"http://web:80"}]}`),
		}
	}
	if _, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src, Fragments: []api.SourceFragment{frag("a", "a.example.com"), frag("b", "b.example.com")}}); err != nil {
		t.Fatal(err)
	}
	res, err := cl.ReplaceSourceFragments(ctx, api.ReplaceSourceRequest{Source: src, Fragments: []api.SourceFragment{frag("b", "b2.example.com"), frag("c", "c.example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 3 { // b updated, c created, a deleted
		t.Fatalf("changed %d, want 3", res.Changed)
	}
	c.converge(res.Index)
	frags, err := cl.ListFragments(ctx, api.TargetRef{}, src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range frags {
		names = append(names, f.Target.Name)
	}
	if strings.Join(names, ",") != "b,c" {
		t.Fatalf("fragments of the source: %v, want b,c", names)
	}
}

func TestReadyzAndHealthz(t *testing.T) {
	c := newTestCluster(t, 3)
	for i := range c.nodes {
		for _, path := range []string{"/healthz", "/readyz"} {
			testutil.WaitFor(t, 10e9, path, func() bool { return rawRequest(t, "GET", c.nodes[i].URL()+path, "", "").status == 200 })
		}
		if r := rawRequest(t, "GET", c.nodes[i].URL()+"/metrics", "", ""); r.status != 200 || !strings.Contains(string(r.body), "conflux_http_request_duration_seconds") {
			t.Fatalf("metrics: %d", r.status)
		}
	}
}
