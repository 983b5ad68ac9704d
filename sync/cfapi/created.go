package cfapi

import "strconv"

// Created decides, for every kind that records IDCreated, whether the
// object a target recorded is conflux-sync's to delete with the target's
// last fragment: created by conflux-sync, or taken over from the
// controller that created it. "false" (adopted) is never deleted. A
// status without the key (recorded before the kind wrote it) falls back
// to marked: whether the object carries conflux-sync's marker; kinds whose
// objects have no comment pass false, so nothing unproven is deleted.
func Created(ids map[string]string, marked bool) bool {
	switch ids[IDCreated] {
	case "true":
		return true
	case "false":
		return false
	}
	return marked
}

// CreatedValue is the IDCreated value recording created.
func CreatedValue(created bool) string { return strconv.FormatBool(created) }
