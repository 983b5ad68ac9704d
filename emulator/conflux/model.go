package conflux

import (
	"encoding/json"
	"time"
)

// Formats a config may declare.
var formats = []string{"json", "yaml", "toml", "properties", "text"}

// RetentionPolicy decides which versions a publish prunes.
type RetentionPolicy struct {
	// Strategy is "AND" (remove only when every rule would remove) or "OR"
	// (remove when any rule would).
	Strategy string          `json:"strategy"`
	Rules    []RetentionRule `json:"rules"`
}

// RetentionRule is "count" (keep the newest Keep versions) or "days" (keep
// versions younger than Keep days).
type RetentionRule struct {
	Type string `json:"type"`
	Keep int    `json:"keep"`
}

// ConfigObject is a config as the API serves it.
type ConfigObject struct {
	ID              string           `json:"id"`
	Tenant          string           `json:"tenant"`
	Application     string           `json:"application"`
	Environment     string           `json:"environment"`
	Name            string           `json:"name"`
	Format          string           `json:"format"`
	Schema          json.RawMessage  `json:"schema,omitempty"`
	RetentionPolicy *RetentionPolicy `json:"retention_policy,omitempty"`
	Description     string           `json:"description"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
	ETag            string           `json:"etag"`
}

// Version is an immutable config version.
type Version struct {
	ConfigID      string    `json:"config_id"`
	VersionID     string    `json:"version_id"`
	Number        int       `json:"number"`
	Content       string    `json:"content"`
	ContentSHA256 string    `json:"content_sha256"`
	Description   string    `json:"description"`
	IsStable      bool      `json:"is_stable"`
	CreatedAt     time.Time `json:"created_at"`
}

// Rule is one release policy rule.
type Rule struct {
	Priority  int               `json:"priority"`
	VersionID string            `json:"version_id"`
	Labels    map[string]string `json:"labels"`
}

// Policy is a config's release policy; Rules are sorted by priority,
// highest first.
type Policy struct {
	Rules []Rule `json:"rules"`
	ETag  string `json:"etag"`
}

// emptyPolicyETag is the ETag of a policy that was never written.
const emptyPolicyETag = `"empty"`

// configRec is a config plus server-side bookkeeping, as stored.
type configRec struct {
	ConfigObject
	// LastNumber is the highest version number ever given, so numbers are
	// never reused after retention removes versions.
	LastNumber int    `json:"last_number"`
	Policy     Policy `json:"policy"`
}

func (c *configRec) clone() *configRec {
	cp := *c
	cp.Schema = append(json.RawMessage(nil), c.Schema...)
	if c.RetentionPolicy != nil {
		rp := *c.RetentionPolicy
		rp.Rules = append([]RetentionRule(nil), rp.Rules...)
		cp.RetentionPolicy = &rp
	}
	cp.Policy = c.Policy.clone()
	return &cp
}

func (p Policy) clone() Policy {
	out := Policy{ETag: p.ETag, Rules: make([]Rule, len(p.Rules))}
	for i, r := range p.Rules {
		lb := make(map[string]string, len(r.Labels))
		for k, v := range r.Labels {
			lb[k] = v
		}
		out.Rules[i] = Rule{Priority: r.Priority, VersionID: r.VersionID, Labels: lb}
	}
	return out
}

func (p Policy) references(versionID string) bool {
	for _, r := range p.Rules {
		if r.VersionID == versionID {
			return true
		}
	}
	return false
}

// idemRec is the stored first response to a publish with an
// Idempotency-Key.
type idemRec struct {
	ConfigID    string            `json:"config_id"`
	Key         string            `json:"key"`
	Fingerprint string            `json:"fingerprint"`
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	Body        []byte            `json:"body"`
	CreatedAt   time.Time         `json:"created_at"`
}

func naturalKey(tenant, app, env, name string) string {
	return tenant + "\x00" + app + "\x00" + env + "\x00" + name
}
