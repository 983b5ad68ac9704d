package kind

import (
	"encoding/json"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/kind/kindtest"
)

func TestOneOwnerPicksFirstRegisteredInAnyOrder(t *testing.T) {
	a := api.Fragment{Source: api.SourceRef{Kind: "API", Name: "a"}, CreateIndex: 7}
	b := api.Fragment{Source: api.SourceRef{Kind: "API", Name: "b"}, CreateIndex: 3}
	c := api.Fragment{Source: api.SourceRef{Kind: "API", Name: "c"}, CreateIndex: 3}
	for _, frags := range [][]api.Fragment{{a, b, c}, {c, a, b}, {b, c, a}} {
		w, conflicts := OneOwner(frags, "tunnel")
		if w.Source.Name != "b" || len(conflicts) != 2 || conflicts[0].Loser.Name != "c" || conflicts[1].Loser.Name != "a" {
			t.Fatalf("winner %v conflicts %+v", w.Source, conflicts)
		}
	}
	if w, c := OneOwner(nil, "x"); w != nil || c != nil {
		t.Fatal("no fragments must give no owner")
	}
}

func TestDecodeStrict(t *testing.T) {
	type spec struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		in, field string
	}{
		{`{"name":"x","count":2}`, ""},
		{`{"name":"x","colour":1}`, "spec.colour"},
		{`{"count":"two"}`, "spec.count"},
		{`{"name":"x"} {}`, "spec"},
		{`[1]`, "spec"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var s spec
			kindtest.CheckValidation(t, DecodeStrict(json.RawMessage(tt.in), &s), tt.field, "")
		})
	}
}
