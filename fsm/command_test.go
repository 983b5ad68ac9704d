package fsm

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conflux-sync/conflux-sync/api"
)

var (
	testTarget = api.TargetRef{Kind: "cloudflare.TunnelConfiguration", Name: "ClusterTunnel/edge"}
	testSource = api.SourceRef{Kind: "Ingress", Namespace: "default", Name: "web"}
)

func sampleCommands() map[string]Command {
	return map[string]Command{
		"PutFragment": &PutFragment{Fragment: api.Fragment{
			Target: testTarget, Source: testSource, Generation: 3,
			Spec: json.RawMessage(`{"rules":[{"hostname":"app.example.com","path":"^/api","service":"http://web:80"}]}`),
		}},
		"DeleteFragment": &DeleteFragment{Target: testTarget, Source: testSource},
		"ReplaceSourceFragments": &ReplaceSourceFragments{Source: testSource, Fragments: []api.SourceFragment{
			{Target: testTarget, Generation: 1, Spec: json.RawMessage(`{"a":1}`)},
			{Target: api.TargetRef{Kind: "cloudflare.DNSRecord", Name: "app.example.com"}, Generation: 2, Spec: json.RawMessage(`{}`)},
		}},
		"ReplaceSourceFragments empty": &ReplaceSourceFragments{Source: testSource, Fragments: []api.SourceFragment{}},
		"RecordSync": &RecordSync{Target: testTarget, Status: api.SyncStatus{
			Revision: 7, SyncedHash: "abc", AttemptedHash: "abc", DownstreamIDs: map[string]string{"tunnel": "t-1"},
			Error: "", Attempts: 0, Time: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
		}},
		"PutSource":          &PutSource{Source: api.Source{Source: testSource, Spec: json.RawMessage(`{"url":"https://git.example.com/a.git"}`)}},
		"DeleteSource":       &DeleteSource{Source: testSource},
		"RecordSourceStatus": &RecordSourceStatus{Source: testSource, Status: json.RawMessage(`{"lastSyncedCommit":"abc"}`)},
		"SetClusterID":       &SetClusterID{ID: "0123456789abcdef"},
		"TFPutState": &TFPutState{Workspace: "prod", LockID: "l-1", Serial: 4, Lineage: "lin", MD5: "x", Keep: 10,
			Time: time.Date(2026, 12, 7, 1, 2, 3, 4, time.UTC), Body: []byte(`{"version":4, "serial":4}` + "\n")},
		"TFLock":         &TFLock{Workspace: "prod", ID: "l-1", Info: json.RawMessage(`{"ID":"l-1","Who":"a@b"}`), Time: time.Date(2026, 12, 7, 1, 2, 3, 4, time.UTC)},
		"TFUnlock":       &TFUnlock{Workspace: "prod", ID: "l-1", Force: true},
		"TFDeleteState":  &TFDeleteState{Workspace: "prod", LockID: "l-1", Time: time.Date(2026, 12, 7, 1, 2, 3, 4, time.UTC)},
		"TFRestoreState": &TFRestoreState{Workspace: "prod", Version: 3, Force: true, Keep: 5, Time: time.Date(2026, 12, 7, 1, 2, 3, 4, time.UTC)},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	wantType := map[string]Type{
		"PutFragment": TypePutFragment, "DeleteFragment": TypeDeleteFragment,
		"ReplaceSourceFragments": TypeReplaceSourceFragments, "ReplaceSourceFragments empty": TypeReplaceSourceFragments,
		"RecordSync": TypeRecordSync, "PutSource": TypePutSource, "DeleteSource": TypeDeleteSource,
		"RecordSourceStatus": TypeRecordSourceStatus,
		"SetClusterID":       TypeSetClusterID,
		"TFPutState":         TypeTFPutState, "TFLock": TypeTFLock, "TFUnlock": TypeTFUnlock,
		"TFDeleteState": TypeTFDeleteState, "TFRestoreState": TypeTFRestoreState,
	}
	for name, cmd := range sampleCommands() {
		t.Run(name, func(t *testing.T) {
			b, err := Encode(cmd)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if b[0] != Version || Type(b[1]) != wantType[name] {
				t.Errorf("header = %d %d, want %d %d", b[0], b[1], Version, wantType[name])
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, cmd)
			}
			// Value and pointer encode the same.
			v := reflect.ValueOf(cmd).Elem().Interface().(Command)
			b2, err := Encode(v)
			if err != nil || string(b2) != string(b) {
				t.Errorf("Encode(value) = %q, %v; want %q", b2, err, b)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	good, err := Encode(&DeleteSource{Source: testSource})
	if err != nil {
		t.Fatal(err)
	}
	body := good[2:]
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"nil", nil, "0 bytes"},
		{"one byte", []byte{Version}, "1 bytes"},
		{"old version", append([]byte{0, byte(TypeDeleteSource)}, body...), "format version 0"},
		{"newer version", append([]byte{Version + 1, byte(TypeDeleteSource)}, body...), "format version 2"},
		{"unknown type 0", append([]byte{Version, 0}, body...), "unknown type 0"},
		{"unknown type 99", append([]byte{Version, 99}, body...), "unknown type 99"},
		{"unknown type 255", append([]byte{Version, 255}, body...), "unknown type 255"},
		{"no body", []byte{Version, byte(TypePutFragment)}, "PutFragment"},
		{"bad JSON", append([]byte{Version, byte(TypePutFragment)}, `{"fragment":`...), "PutFragment"},
		{"not an object", append([]byte{Version, byte(TypeRecordSync)}, `[1,2]`...), "RecordSync"},
		{"wrong field type", append([]byte{Version, byte(TypePutFragment)}, `{"fragment":{"generation":"x"}}`...), "PutFragment"},
		{"bad time", append([]byte{Version, byte(TypeRecordSync)}, `{"status":{"time":"yesterday"}}`...), "RecordSync"},
		{"trailing data", append(append([]byte{}, good...), `{}`...), "DeleteSource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Decode(tt.data)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %#v, %v; want ErrMalformed", c, err)
			}
			if c != nil {
				t.Errorf("Decode returned a command with the error: %#v", c)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q does not say %q", err, tt.want)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{
		TypePutFragment: "PutFragment", TypeDeleteFragment: "DeleteFragment",
		TypeReplaceSourceFragments: "ReplaceSourceFragments", TypeRecordSync: "RecordSync",
		TypePutSource: "PutSource", TypeDeleteSource: "DeleteSource", Type(42): "Type(42)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", byte(typ), got, want)
		}
	}
}
