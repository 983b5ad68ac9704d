package conflux

import (
	"net/http"
	"sort"
	"strconv"
)

// newVersionRef lets a policy given with a publish point at the version
// that publish creates.
const newVersionRef = "$new"

// parsePolicy validates a policy body ({"rules":[...]}) at base. Version
// references are checked by checkPolicyRefs.
func parsePolicy(errs *fieldErrs, v any, base string) []Rule {
	m, ok := v.(map[string]any)
	if !ok {
		errs.add(base, "must be an object")
		return nil
	}
	errs.unknownFields(m, base, "rules", "etag")
	raw, ok := m["rules"].([]any)
	if !ok {
		errs.add(base+"/rules", "required: an array of rules")
		return nil
	}
	rules := make([]Rule, 0, len(raw))
	seen := map[int]int{}
	defaultAt := -1
	for i, rv := range raw {
		rb := base + "/rules/" + strconv.Itoa(i)
		rm, ok := rv.(map[string]any)
		if !ok {
			errs.add(rb, "must be an object")
			continue
		}
		errs.unknownFields(rm, rb, "priority", "version_id", "labels")
		var rule Rule
		prio, ok := integer(rm["priority"])
		switch {
		case !ok:
			errs.add(rb+"/priority", "required: an integer")
		default:
			if j, dup := seen[prio]; dup {
				errs.add(rb+"/priority", "duplicates the priority of rule "+strconv.Itoa(j))
			}
			seen[prio] = i
		}
		rule.Priority = prio
		vid, present := errs.str(rm, "version_id", rb)
		if !present || vid == "" {
			errs.add(rb+"/version_id", "required")
		}
		rule.VersionID = vid
		rule.Labels = map[string]string{}
		if lv, ok := rm["labels"]; ok && lv != nil {
			lm, ok := lv.(map[string]any)
			if !ok {
				errs.add(rb+"/labels", "must be an object of strings")
			}
			for _, k := range sortedKeys(lm) {
				sv, isStr := lm[k].(string)
				switch {
				case k == "":
					errs.add(rb+"/labels/", "label names must not be empty")
				case !isStr:
					errs.add(rb+"/labels/"+ptrEscape(k), "must be a string")
				default:
					rule.Labels[k] = sv
				}
			}
		}
		if len(rule.Labels) == 0 {
			if defaultAt >= 0 {
				errs.add(rb+"/labels", "only one default rule (without labels) is allowed; rule "+strconv.Itoa(defaultAt)+" is one")
			}
			defaultAt = i
		}
		rules = append(rules, rule)
	}
	return rules
}

// checkPolicyRefs makes sure every rule names a version of the config
// (or newID when allowNew).
func checkPolicyRefs(errs *fieldErrs, rules []Rule, base string, versions []*Version, allowNew bool) {
	for i, rule := range rules {
		if rule.VersionID == "" {
			continue
		}
		if rule.VersionID == newVersionRef && allowNew {
			continue
		}
		found := false
		for _, v := range versions {
			if v.VersionID == rule.VersionID {
				found = true
				break
			}
		}
		if !found {
			detail := "is not a version of this config"
			if rule.VersionID == newVersionRef {
				detail = `"$new" is only valid in a policy sent with a publish`
			}
			errs.add(base+"/rules/"+strconv.Itoa(i)+"/version_id", detail)
		}
	}
}

// sortRules orders rules highest priority first.
func sortRules(rules []Rule) {
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Priority > rules[j].Priority })
}

// matchRule returns the highest-priority rule whose labels all appear,
// with equal values, in labels.
func matchRule(rules []Rule, labels map[string]string) (Rule, bool) {
	for _, rule := range rules { // sorted highest first
		ok := true
		for k, v := range rule.Labels {
			if got, has := labels[k]; !has || got != v {
				ok = false
				break
			}
		}
		if ok {
			return rule, true
		}
	}
	return Rule{}, false
}

func writePolicy(w http.ResponseWriter, status int, p Policy) {
	w.Header().Set("ETag", p.ETag)
	writeJSON(w, status, p)
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) *problem {
	s.mu.Lock()
	c := s.configs[r.PathValue("id")]
	var p Policy
	if c != nil {
		p = c.Policy.clone()
	}
	s.mu.Unlock()
	if c == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	writePolicy(w, http.StatusOK, p)
	return nil
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) *problem {
	body, _, p := readObject(r)
	if p != nil {
		return p
	}
	var errs fieldErrs
	rules := parsePolicy(&errs, body, "")
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.configs[r.PathValue("id")]
	if cur == nil {
		return notFound("Config " + r.PathValue("id"))
	}
	if p := checkPolicyPrecondition(r, cur.Policy.ETag); p != nil {
		return p
	}
	checkPolicyRefs(&errs, rules, "", s.versions[cur.ID], false)
	if len(errs) > 0 {
		return validationProblem(errs)
	}
	c := cur.clone()
	sortRules(rules)
	c.Policy = Policy{Rules: rules, ETag: newETag()}
	if err := s.commitLocked(&batch{putConfig: c}); err != nil {
		return storageProblem(err)
	}
	writePolicy(w, http.StatusOK, c.Policy.clone())
	return nil
}

// checkPolicyPrecondition: If-Match must match the policy's ETag; it may be
// omitted only while the policy was never written.
func checkPolicyPrecondition(r *http.Request, current string) *problem {
	present, ok := ifMatch(r, current)
	switch {
	case !present && current != emptyPolicyETag:
		return newProblem(http.StatusPreconditionRequired, "precondition-required", "Precondition required",
			"Send If-Match with the policy's ETag.")
	case present && !ok:
		return preconditionFailed("The policy changed since you read it; its ETag is now " + current + ".")
	}
	return nil
}
