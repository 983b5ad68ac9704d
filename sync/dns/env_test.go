package dns

import (
	"testing"

	"github.com/cloudflare/cloudflare-go"

	emu "github.com/conflux-sync/conflux-sync/emulator/cloudflare"
	"github.com/conflux-sync/conflux-sync/sync/cfapi/cfapitest"
	"github.com/conflux-sync/conflux-sync/sync/engine"
)

const (
	batchKey = "POST /zones/{zone}/dns_records/batch"
	listKey  = "GET /zones/{zone}/dns_records"
)

// env is the shared emulator environment with the zone example.com and the
// flusher under test flushing zoneRef.
type env struct {
	*cfapitest.Flow
	f      *Flusher
	zoneID string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ce := cfapitest.New(t, cfapitest.Zone("example.com"))
	e := &env{f: NewFlusher(FlusherConfig{Clients: ce.Clients, Store: ce.Store}), zoneID: ce.Zones["example.com"]}
	e.Flow = ce.Flow(New(), e.f, zoneRef)
	return e
}

// mustFlush flushes one fragment per spec and fails the test on error; it
// returns the number of batch calls the flush made.
func (e *env) mustFlush(t *testing.T, specs ...string) (engine.Outcome, int) {
	t.Helper()
	before := e.Emu.Requests()[batchKey]
	out := e.MustFlush(t, specs...)
	return out, e.Emu.Requests()[batchKey] - before
}

// records returns the zone's records keyed "name TYPE content".
func (e *env) records() map[string]emu.DNSRecordInfo {
	out := map[string]emu.DNSRecordInfo{}
	for _, r := range e.Emu.DNSRecords(e.zoneID) {
		out[r.Name+" "+r.Type+" "+r.Content] = r
	}
	return out
}

// handMade creates a record without our marker, as a person would.
func (e *env) handMade(t *testing.T, typ, name, content, comment string) cloudflare.DNSRecord {
	t.Helper()
	r, err := e.Human.CreateDNSRecord(cfapitest.Context(t), cloudflare.ZoneIdentifier(e.zoneID), cloudflare.CreateDNSRecordParams{
		Type: typ, Name: name, Content: content, TTL: 1, Comment: comment})
	if err != nil {
		t.Fatalf("create hand-made record: %v", err)
	}
	return r
}
