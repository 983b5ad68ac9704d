package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

func newSnapshotCmd(g *globalOptions) *cobra.Command {
	snap := &cobra.Command{Use: "snapshot", Short: "Save, restore and inspect snapshot files"}
	snap.AddCommand(&cobra.Command{
		Use:   "save FILE",
		Short: "Stream the cluster state to FILE (verified before it is kept)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			// Write beside the destination and rename only once the file
			// verifies, so a failed save never leaves a half file behind
			// under the final name.
			tmp, err := os.CreateTemp(filepath.Dir(args[0]), ".snapshot-*")
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
			if err := os.Rename(tmp.Name(), args[0]); err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), meta, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Saved %s\n", args[0])
				printSnapshotMeta(tw, meta)
			})
		},
	}, &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the cluster's whole state with FILE (verified first)",
		Args:  cobra.ExactArgs(1),
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
			meta, err := c.RestoreSnapshot(cmd.Context(), f)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), meta, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Restored %s\n", args[0])
				printSnapshotMeta(tw, meta)
			})
		},
	}, &cobra.Command{
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
