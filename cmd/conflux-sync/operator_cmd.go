package main

import "github.com/spf13/cobra"

// newOperatorCmd groups the commands an operator runs to set up and look
// after a cluster's secrets (they talk to Kubernetes or write files, not to
// the admin API).
func newOperatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Set up and look after a cluster's secrets",
	}
	cmd.AddCommand(newOperatorInitSecretsCmd())
	return cmd
}
