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
)

// clusterIDLen is the length of a cluster id (16 hex digits, see fsm).
// Validate runs without knowing the cluster id, so the comment limit assumes
// this length.
const clusterIDLen = 16

// MaxCommentLen is the longest user comment: the stored comment is
// cfapi.Comment(marker, comment), which must fit cfapi.MaxCommentLen.
var MaxCommentLen = cfapi.MaxCommentLen - len(cfapi.Marker(strings.Repeat("0", clusterIDLen))) - 1

// Spec is one fragment's records in one zone.
type Spec struct {
	// AccountID is the Cloudflare account of the zone; empty means the only
	// configured account.
	AccountID string   `json:"accountId,omitempty"`
	Records   []Record `json:"records"`
	// Credentials names the Kubernetes Secret key holding the API token
	// for the zone instead of the server's static credentials. The zone is
	// written with one token: that of the first fragment (lowest
	// CreateIndex) that names one; other fragments may name other Secrets,
	// which are then not used.
	Credentials *api.SecretRef `json:"credentials,omitempty"`
}

// Record is one DNS record, in a spec and in Desired alike. In Desired every
// default is filled in (TTL 1, proxied false), names are lower-case, types
// upper-case, tags sorted, so equal intents give equal bytes.
type Record struct {
	// Name is the FQDN, inside the target zone.
	Name string `json:"name"`
	// Type is A, AAAA, CNAME, TXT or MX.
	Type string `json:"type"`
	// Content is the record value. Exactly one of Content and Tunnel.
	Content string `json:"content,omitempty"`
	// Tunnel names a cloudflare.Tunnel target (CNAME only): the content
	// becomes "<tunnel id>.cfargotunnel.com" when flushed.
	Tunnel string `json:"tunnel,omitempty"`
	// TTL is 1 (automatic) or 60..86400; 0 means 1.
	TTL     int  `json:"ttl,omitempty"`
	Proxied bool `json:"proxied"`
	// Priority is required for MX and refused otherwise.
	Priority *int     `json:"priority,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Adopt takes over an existing record conflux-sync did not create.
	Adopt bool `json:"adopt,omitempty"`
}

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

// value is what tells two records of one key apart in a spec: the content
// or the tunnel reference.
func (r *Record) value() string {
	if r.Tunnel != "" {
		return "tunnel:" + r.Tunnel
	}
	return r.Content
}
