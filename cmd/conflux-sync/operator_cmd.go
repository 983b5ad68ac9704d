package main

import "github.com/spf13/cobra"

// newOperatorCmd groups the commands an operator runs to set up and look
// after a cluster's secrets: init-secrets talks to Kubernetes, keygen
// writes a secret, rotate walks the cluster secret through its rotation
// over the admin API.
func newOperatorCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Set up and look after a cluster's secrets and their rotation",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newOperatorInitSecretsCmd(), newKeygenCmd(), newRotateCmd(g))
	return cmd
}
