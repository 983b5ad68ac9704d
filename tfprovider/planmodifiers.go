package tfprovider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// keepEqualJSON plans the prior state's JSON when the configuration holds
// the same JSON in another spelling (white space, key order), and null for
// a null configuration. An imported resource's state holds the JSON as the
// admin API stores it, so without it the first plan after an import shows
// "whitespace changes" for file() of pretty-printed JSON. The attribute
// must be Optional and Computed: Terraform accepts a planned value other
// than the configured one only for computed attributes.
type keepEqualJSON struct{}

func (keepEqualJSON) Description(context.Context) string {
	return "Keeps the prior JSON when the configured JSON is equal to it apart from white space and key order."
}

func (m keepEqualJSON) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (keepEqualJSON) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	switch {
	case req.ConfigValue.IsUnknown():
		return
	case req.ConfigValue.IsNull():
		resp.PlanValue = types.StringNull()
	case !req.StateValue.IsNull() && !req.StateValue.IsUnknown() && sameJSON(req.ConfigValue.ValueString(), req.StateValue.ValueString()):
		resp.PlanValue = req.StateValue
	default:
		resp.PlanValue = req.ConfigValue
	}
}

// emptyLabels plans an empty map for null: "labels = {}" and no labels
// mean the same, and the state always holds {} for both, so an imported
// rule (which cannot know the configuration's spelling) plans no change.
// Terraform lets a provider plan another value than the configured one
// only for a null configuration of a computed attribute: the attribute
// must be Optional and Computed, and the state {} rather than null.
type emptyLabels struct{}

func (emptyLabels) Description(context.Context) string {
	return "Plans an empty map when the configuration has none."
}

func (m emptyLabels) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (emptyLabels) PlanModifyMap(_ context.Context, req planmodifier.MapRequest, resp *planmodifier.MapResponse) {
	if req.ConfigValue.IsNull() {
		resp.PlanValue = types.MapValueMust(types.StringType, map[string]attr.Value{})
	}
}
