package api

// Member is one server as the cluster sees it.
type Member struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	HTTPAddr string `json:"httpAddr,omitempty"`
	// Suffrage is "voter", "nonvoter" or "" when not in the raft
	// configuration yet.
	Suffrage string `json:"suffrage,omitempty"`
	// Gossip is the memberlist state: "alive", "suspect", "dead", "left",
	// or "unknown" when the member is only in the raft configuration.
	Gossip string `json:"gossip"`
	Leader bool   `json:"leader"`
	// AppliedIndex as the member last gossiped it.
	AppliedIndex uint64 `json:"appliedIndex"`
	// KeyFingerprint is the SHA-256 (base64url) of the member's raft TLS
	// key as it gossips it; its node id is bound to it.
	KeyFingerprint string `json:"keyFingerprint,omitempty"`
	// SecretsDigest and GossipKeysDigest name (without revealing) the
	// cluster secrets and operator gossip keys the member has loaded, in
	// order: `operator rotate` waits until every member reports the same.
	SecretsDigest    string `json:"secretsDigest,omitempty"`
	GossipKeysDigest string `json:"gossipKeysDigest,omitempty"`
}

// ClusterStatus answers GET /v1/status.
type ClusterStatus struct {
	ClusterID    string `json:"clusterId,omitempty"`
	NodeID       string `json:"nodeId"`
	State        string `json:"state"` // Leader, Follower, Candidate, Shutdown
	Leader       string `json:"leader,omitempty"`
	LeaderAddr   string `json:"leaderAddr,omitempty"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commitIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
	LastIndex    uint64 `json:"lastIndex"`
	// Security is how raft and gossip are protected: "cluster-secret",
	// "operator-tls" or "insecure".
	Security string `json:"security,omitempty"`
	// Untrusted lists gossip members the leader's autopilot refused to add
	// or re-address because they could not prove their node id ("id:
	// reason").
	Untrusted []string `json:"untrusted,omitempty"`
	Members   []Member `json:"members"`
}

// SnapshotMeta describes a snapshot file; `snapshot inspect` prints it.
type SnapshotMeta struct {
	Format    int    `json:"format"`
	ClusterID string `json:"clusterId"`
	Index     uint64 `json:"index"`
	Term      uint64 `json:"term"`
	Fragments int    `json:"fragments"`
	Targets   int    `json:"targets"`
	Sources   int    `json:"sources"`
	Statuses  int    `json:"statuses"`
	// StateSize is the size of the state image in bytes.
	StateSize int64 `json:"stateSize"`
	// SHA256 is the hex checksum over the metadata and the state image.
	SHA256    string `json:"sha256,omitempty"`
	CreatedAt string `json:"createdAt"`
}

// SnapshotRestore answers PUT /v1/snapshot: the restored file's metadata
// and the cluster id the state has now.
type SnapshotRestore struct {
	SnapshotMeta
	// RestoredClusterID is the cluster's id after the restore: the id it
	// had before (the default), or the file's with take-cluster-id. The
	// id is in the ownership markers of what the cluster creates
	// downstream.
	RestoredClusterID string `json:"restoredClusterId"`
}

// RestoreOptions tune PUT /v1/snapshot.
type RestoreOptions struct {
	// TakeClusterID makes the cluster take the snapshot's cluster id
	// instead of keeping its own (query parameter take-cluster-id=true).
	// Disaster recovery into a fresh cluster needs it to keep owning
	// what the lost cluster created downstream.
	TakeClusterID bool
}
