package cfapi

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

func TestResolveTunnelName(t *testing.T) {
	const id = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415"
	target := api.TargetRef{Kind: KindTunnel, Name: "ClusterTunnel/edge"}
	frag := func(src, name string) api.Fragment {
		return api.Fragment{Target: target, Source: api.SourceRef{Kind: "ClusterTunnel", Name: src},
			Spec: json.RawMessage(`{"name":"` + name + `"}`)}
	}
	tests := []struct {
		name  string
		ids   map[string]string // nil: no status recorded
		frags []api.Fragment    // stored in this order (creation index 1, 2, ...)
		want  string
		err   error
	}{
		{name: "recorded", ids: map[string]string{IDTunnel: id, IDTunnelName: "edge-in-cloudflare"},
			frags: []api.Fragment{frag("a", "edge")}, want: "edge-in-cloudflare"},
		{name: "recorded before the name was: the owner's spec", ids: map[string]string{IDTunnel: id},
			frags: []api.Fragment{frag("b", "first"), frag("a", "second")}, want: "first"},
		{name: "no name known", ids: map[string]string{IDTunnel: id}, want: ""},
		{name: "not synced yet", frags: []api.Fragment{frag("a", "edge")}, err: ErrTunnelNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Update(func(tx *store.Tx) error {
				for i, f := range tt.frags {
					if _, err := tx.PutFragment(f, uint64(i+1)); err != nil {
						return err
					}
				}
				if tt.ids == nil {
					return nil
				}
				_, err := tx.RecordSync(target, api.SyncStatus{DownstreamIDs: tt.ids})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var got Tunnel
			err = st.View(func(v *store.View) (err error) {
				got, err = ResolveTunnel(v, target.Name)
				return err
			})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got.Name != tt.want || got.ID != id {
				t.Fatalf("got %+v, %v; want name %q", got, err, tt.want)
			}
		})
	}
}

func TestCreated(t *testing.T) {
	tests := []struct {
		value  string // "" for no key
		marked bool
		want   bool
	}{
		{"true", false, true},
		{"false", true, false},
		{"", true, true},
		{"", false, false},
		{"yes", true, true}, // not a value Created records: the marker decides
	}
	for _, tt := range tests {
		ids := map[string]string{}
		if tt.value != "" {
			ids[IDCreated] = tt.value
		}
		if got := Created(ids, tt.marked); got != tt.want {
			t.Errorf("Created(%q, %v) = %v", tt.value, tt.marked, got)
		}
	}
	if CreatedValue(true) != "true" || CreatedValue(false) != "false" || !Created(map[string]string{IDCreated: CreatedValue(true)}, false) {
		t.Fatal("CreatedValue does not round-trip")
	}
}
