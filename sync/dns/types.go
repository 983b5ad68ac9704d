package dns

import (
	"strings"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/sync/cfapi"
)

// Limits of the kind.
const (
	// MaxRecords bounds one fragment (the paid-plan batch size).
	MaxRecords = 3500
	// MaxBatch is the most operations one batch call carries: the Free
	// plan's limit, which every plan accepts.
	MaxBatch = 200
	// MaxTags bounds the tags of one record.
	MaxTags = 20
	// MaxTXTLen is the longest TXT content the API takes.
	MaxTXTLen = 2048
	// MaxTakeOverIDs bounds the record ids of one record's takeover
	// evidence.
	MaxTakeOverIDs = api.MaxDNSTakeOverIDs
)

// clusterIDLen is the length of a cluster id (16 hex digits, see fsm).
// Validate runs without knowing the cluster id, so the comment limit assumes
// this length.
const clusterIDLen = 16

// MaxCommentLen is the longest user comment: the stored comment is
// cfapi.Comment(marker, comment), which must fit cfapi.MaxCommentLen.
var MaxCommentLen = cfapi.MaxCommentLen - len(cfapi.Marker(strings.Repeat("0", clusterIDLen))) - 1

// Spec and Record are the fragment's types (see api.DNSSpec).
type (
	Spec   = api.DNSSpec
	Record = api.DNSRecord
)

// Desired is a target's aggregate.
type Desired struct {
	AccountID string   `json:"accountId"`
	Records   []Record `json:"records"`
	// Credentials is the Secret of the first fragment that names one; nil:
	// the static credentials, or those of a tunnel a record points at.
	Credentials *api.SecretRef `json:"credentials,omitempty"`
}

// key identifies the records one fragment owns together.
type key struct{ name, typ string }

func (k key) String() string { return k.name + " " + k.typ }

func keyOf(r *Record) key { return key{r.Name, r.Type} }

// recordValue is what tells two records of one key apart in a spec: the
// content, the data or the tunnel reference.
func recordValue(r *Record) string {
	if r.Tunnel != "" {
		return "tunnel:" + r.Tunnel
	}
	return value(r)
}
