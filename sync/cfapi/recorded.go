package cfapi

import (
	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/store"
)

// recordedState is what a target of this cluster says about the object
// another target names it by.
type recordedState int

const (
	// recordedNone: no such target (no fragments, nothing recorded); the
	// name may then be an object of the account.
	recordedNone recordedState = iota
	// recordedFound: its object's id is recorded (in a dry run: planned).
	recordedFound
	// recordedNotReady: the target exists, its object is not made yet.
	recordedNotReady
	// recordedToBeCreated: a dry run's plan of the target creates it.
	recordedToBeCreated
)

// resolveRecorded reads the id the target ref recorded under idKey, with
// its account: the last synced outcome, or in a dry run the ids the
// target's own plan found. It is how a virtual network, an Access policy
// or an Access group named by target name becomes an id.
func resolveRecorded(v *store.View, ref api.TargetRef, idKey string, dryRun bool) (accountID, id string, state recordedState, err error) {
	st, err := v.Status(ref)
	if err != nil {
		return "", "", recordedNone, err
	}
	var ids map[string]string
	switch {
	case st == nil:
	case dryRun && st.DryRun && st.Error == "":
		if st.PlannedIDs[idKey] == "" && st.PlannedIDs[IDCreated] == "true" {
			return "", "", recordedToBeCreated, nil
		}
		ids = st.PlannedIDs
	default:
		ids = st.DownstreamIDs
	}
	if ids[idKey] != "" {
		return ids[IDAccount], ids[idKey], recordedFound, nil
	}
	frags, err := v.TargetFragments(ref)
	if err != nil {
		return "", "", recordedNone, err
	}
	if len(frags) == 0 {
		return "", "", recordedNone, nil
	}
	return "", "", recordedNotReady, nil
}

// recordedError is the kind's own error for a target whose object is to
// be created (toBeCreated) or not made yet (notReady); nil otherwise.
func recordedError(ref api.TargetRef, state recordedState, toBeCreated, notReady error) error {
	switch state {
	case recordedToBeCreated:
		return &recordedErr{ref, toBeCreated}
	case recordedNotReady:
		return &recordedErr{ref, notReady}
	}
	return nil
}

type recordedErr struct {
	ref api.TargetRef
	err error
}

func (e *recordedErr) Error() string { return e.ref.Kind + " " + e.ref.Name + ": " + e.err.Error() }
func (e *recordedErr) Unwrap() error { return e.err }
