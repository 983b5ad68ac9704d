package fsm

import "github.com/hashicorp/raft"

// maxTxBytes bounds the command bytes ApplyBatch puts in one bbolt
// transaction. raft hands the FSM up to MaxAppendEntries (512) entries at
// once, and one ReplaceSourceFragments entry may carry 10,000 fragments:
// a follower replaying its log (catching up, or restarting after its state
// was rebuilt) gets batches of hundreds of thousands of fragments. Inside
// one transaction bbolt inserts into a page's in-memory node by shifting
// its elements and splits nodes only at commit, so a transaction's cost
// grows with the square of the keys it adds to one page, and its memory
// with every page it touches. Small entries still batch as before (512
// entries of 1 KiB are 0.5 MiB).
var maxTxBytes = 4 << 20

// splitBatch cuts logs into runs of at most maxTxBytes of entry data
// (a larger entry is a run of its own). It returns nil when logs fit in
// one transaction.
func splitBatch(logs []*raft.Log) [][]*raft.Log {
	var (
		runs  [][]*raft.Log
		first int
		size  int
	)
	for i, l := range logs {
		if i > first && size+len(l.Data) > maxTxBytes {
			runs = append(runs, logs[first:i])
			first, size = i, 0
		}
		size += len(l.Data)
	}
	if runs == nil {
		return nil
	}
	return append(runs, logs[first:])
}
