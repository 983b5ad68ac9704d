package store

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/conflux-sync/conflux-sync/api"
)

// Dump writes the replicated state (everything but the raft bookkeeping,
// which differs between nodes that have applied the same entries at
// different times) as canonical text: one line per row, buckets and keys in
// order. Two nodes with the same state produce the same bytes.
func (v *View) Dump(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("cluster_id " + v.ClusterID() + "\n")
	for _, name := range [][]byte{bucketFragments, bucketBySource, bucketTargets, bucketStatus, bucketSources} {
		c := v.tx.Bucket(name).Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			bw.Write(name)
			bw.WriteByte(' ')
			bw.WriteString(quote(k))
			bw.WriteByte(' ')
			if string(name) == string(bucketTargets) {
				// Target rows are binary too.
				t, err := api.ParseTargetKey(string(k))
				if err != nil {
					return fmt.Errorf("store: dump target %q: %w", quote(k), err)
				}
				r, err := decodeTargetRecord(t, val)
				if err != nil {
					return fmt.Errorf("store: dump target %q: %w", quote(k), err)
				}
				if val, err = json.Marshal(r); err != nil {
					return err
				}
			}
			if string(name) == string(bucketFragments) {
				// Fragment rows are binary; show them as JSON.
				f, err := api.DecodeBinary(val, false)
				if err != nil {
					return fmt.Errorf("store: dump fragment %q: %w", quote(k), err)
				}
				if val, err = json.Marshal(f); err != nil {
					return err
				}
			}
			bw.Write(val)
			bw.WriteByte('\n')
		}
	}
	// The Terraform state backend's rows, once there are any (the bucket
	// is created on first write); keys hold a binary version number.
	if b := v.tx.Bucket(bucketTFState); b != nil {
		c := b.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			fmt.Fprintf(bw, "%s %q %q\n", bucketTFState, k, val)
		}
	}
	return bw.Flush()
}

func quote(k []byte) string {
	out := make([]byte, 0, len(k))
	for _, c := range k {
		switch c {
		case 0:
			out = append(out, '|')
		case 0x1f:
			out = append(out, '/')
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
