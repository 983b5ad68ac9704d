package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

func newSnapshotCmd(g *globalOptions) *cobra.Command {
	snap := &cobra.Command{Use: "snapshot", Short: "Save, restore and inspect snapshot files"}
	var intoDir string
	var keep int
	save := &cobra.Command{
		Use:   "save FILE | save --into-dir DIR [--keep N]",
		Short: "Stream the cluster state to FILE (verified before it is kept)",
		Long: `Stream the cluster state to FILE, or with --into-dir to DIR/conflux-sync-<UTC time>.snap
(for a scheduled job: no shell needed to make the name); --keep then removes all
but the newest N such files in DIR once the new one is safely written.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (intoDir != "") {
				return usageError{fmt.Errorf("give either FILE or --into-dir DIR")}
			}
			dest := ""
			if len(args) == 1 {
				dest = args[0]
			} else {
				dest = filepath.Join(intoDir, backupPrefix+time.Now().UTC().Format(backupTimeLayout)+backupSuffix)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			// Write beside the destination and rename only once the file
			// verifies, so a failed save never leaves a half file behind
			// under the final name.
			tmp, err := os.CreateTemp(filepath.Dir(dest), ".snapshot-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			if _, err := c.SaveSnapshot(cmd.Context(), tmp); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Sync(); err != nil {
				tmp.Close()
				return err
			}
			meta, err := verifyFile(tmp)
			tmp.Close()
			if err != nil {
				return fmt.Errorf("the received snapshot does not verify: %w", err)
			}
			if err := os.Rename(tmp.Name(), dest); err != nil {
				return err
			}
			var removed []string
			if intoDir != "" && keep > 0 {
				if removed, err = pruneBackups(intoDir, keep); err != nil {
					return fmt.Errorf("saved %s, but pruning older backups failed: %w", dest, err)
				}
			}
			return g.print(cmd.OutOrStdout(), meta, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Saved %s\n", dest)
				for _, r := range removed {
					fmt.Fprintf(tw, "Removed %s\n", r)
				}
				printSnapshotMeta(tw, meta)
			})
		},
	}
	save.Flags().StringVar(&intoDir, "into-dir", "", "write DIR/conflux-sync-<UTC time>.snap instead of FILE")
	save.Flags().IntVar(&keep, "keep", 0, "with --into-dir: keep only the newest N backups in DIR (0: keep all)")
	var takeClusterID bool
	restore := &cobra.Command{
		Use:   "restore FILE [--take-cluster-id]",
		Short: "Replace the cluster's whole state with FILE (verified first)",
		Long: `Replace the cluster's whole state with FILE (verified first). The cluster keeps
its own cluster id, which is in the ownership markers of everything it created
downstream (conflux-sync:<id> in Cloudflare record comments): a snapshot of another
cluster does not make this one the owner of the other's objects.

Disaster recovery into a fresh cluster after the old one is lost must pass
--take-cluster-id, so that the new cluster takes the snapshot's id and keeps
owning (updating, deleting) what the old cluster created.`,
		Example: `  conflux-sync snapshot restore backup.snap
  conflux-sync snapshot restore --take-cluster-id backup.snap   # disaster recovery`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			// Refuse a bad file here, before anything is sent.
			if _, err := verifyFile(f); err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.RestoreSnapshotWith(cmd.Context(), f, api.RestoreOptions{TakeClusterID: takeClusterID})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Restored %s\n", args[0])
				printSnapshotMeta(tw, res.SnapshotMeta)
				fmt.Fprintf(tw, "Cluster id now:\t%s\n", orDash(res.RestoredClusterID))
			})
		},
	}
	restore.Flags().BoolVar(&takeClusterID, "take-cluster-id", false,
		"take the snapshot's cluster id instead of keeping this cluster's (disaster recovery into a fresh cluster)")
	snap.AddCommand(save, restore, &cobra.Command{
		Use:   "inspect FILE",
		Short: "Verify a snapshot file and print its metadata (offline)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			meta, err := verifyFile(f)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), meta, func(tw *tabwriter.Writer) { printSnapshotMeta(tw, meta) })
		},
	})
	return snap
}

func verifyFile(f *os.File) (api.SnapshotMeta, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return api.SnapshotMeta{}, err
	}
	meta, err := store.ReadSnapshotFile(f, io.Discard)
	if err != nil {
		return meta, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return meta, nil
}

func printSnapshotMeta(tw *tabwriter.Writer, m api.SnapshotMeta) {
	fmt.Fprintf(tw, "Format:\t%d\nCluster:\t%s\nIndex:\t%d\nTerm:\t%d\nFragments:\t%d\nTargets:\t%d\nSources:\t%d\nStatuses:\t%d\nState size:\t%d bytes\nSHA-256:\t%s\nCreated:\t%s\n",
		m.Format, orDash(m.ClusterID), m.Index, m.Term, m.Fragments, m.Targets, m.Sources, m.Statuses, m.StateSize, m.SHA256, m.CreatedAt)
}

// Backup file names of `snapshot save --into-dir`: the UTC time sorts them.
const (
	backupPrefix     = "conflux-sync-"
	backupSuffix     = ".snap"
	backupTimeLayout = "20060102T150405Z"
)

// pruneBackups removes all but the newest keep backups in dir; only files
// named like `save --into-dir` names them are considered.
func pruneBackups(dir string, keep int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var backups []string
	for _, e := range entries {
		name := e.Name()
		stamp, ok := strings.CutPrefix(name, backupPrefix)
		if !ok || e.IsDir() {
			continue
		}
		if stamp, ok = strings.CutSuffix(stamp, backupSuffix); !ok {
			continue
		}
		if _, err := time.Parse(backupTimeLayout, stamp); err == nil {
			backups = append(backups, name)
		}
	}
	slices.Sort(backups)
	var removed []string
	for len(backups) > keep {
		p := filepath.Join(dir, backups[0])
		if err := os.Remove(p); err != nil {
			return removed, err
		}
		removed, backups = append(removed, p), backups[1:]
	}
	return removed, nil
}
