/**
 * Default message templates, per receiver type (see template.ts for the syntax and
 * notification.ts NotificationView for the names). A receiver's `title` / `text` / `body`
 * replaces them.
 */

export const DINGTALK_TITLE = '[{{statusText}}] {{title}}';

export const DINGTALK_TEXT = `### {{icon}} [{{statusText}}] {{title}}

**{{summary}}**

- Severity: **{{severityText}}** · Category: {{category}}
- Cluster: {{cluster}}{{#namespace}} · Namespace: {{namespace}}{{/namespace}}
{{#object}}
- Object: {{object}}
{{/object}}
{{#workload}}
- Workload: {{workload}}
{{/workload}}
{{#node}}
- Node: {{node}}
{{/node}}
{{#containers}}
- Container {{name}}: {{state}}
{{/containers}}
- Events: {{count}}{{#window}} within {{window}}{{/window}}
- First seen: {{firstSeen}}
- Last seen: {{lastSeen}}
{{#resolved}}
- Resolved: {{endsAt}} (lasted {{duration}})
{{/resolved}}
{{#hasSamples}}

**Recent messages**

{{#samples}}
> {{.}}

{{/samples}}
{{/hasSamples}}
{{#link}}

[Details]({{link}})
{{/link}}
`;

export const WECOM_TEXT = `{{#firing}}<font color="warning">{{icon}} FIRING</font>{{/firing}}{{#resolved}}<font color="info">{{icon}} RESOLVED</font>{{/resolved}} **{{title}}**
> {{summary}}
> Severity: <font color="warning">{{severityText}}</font> · Category: {{category}}
> Cluster: {{cluster}}{{#namespace}} · Namespace: {{namespace}}{{/namespace}}
{{#object}}
> Object: {{object}}
{{/object}}
{{#workload}}
> Workload: {{workload}}
{{/workload}}
{{#node}}
> Node: {{node}}
{{/node}}
{{#containers}}
> Container {{name}}: <font color="comment">{{state}}</font>
{{/containers}}
> Events: {{count}}{{#window}} within {{window}}{{/window}}
> First seen: <font color="comment">{{firstSeen}}</font>
> Last seen: <font color="comment">{{lastSeen}}</font>
{{#resolved}}
> Resolved: <font color="comment">{{endsAt}} (lasted {{duration}})</font>
{{/resolved}}
{{#hasSamples}}
**Recent messages**
{{#samples}}
> <font color="comment">{{.}}</font>
{{/samples}}
{{/hasSamples}}
{{#link}}
[Details]({{link}})
{{/link}}
`;

export const SLACK_TITLE = '{{icon}} [{{statusText}}] {{title}}';

export const SLACK_TEXT = `*{{summary}}*
*Severity:* {{severityText}}    *Category:* {{category}}
*Cluster:* {{cluster}}{{#namespace}}    *Namespace:* {{namespace}}{{/namespace}}
{{#object}}
*Object:* {{object}}
{{/object}}
{{#workload}}
*Workload:* {{workload}}
{{/workload}}
{{#node}}
*Node:* {{node}}
{{/node}}
{{#containers}}
*Container* \`{{name}}\`: {{state}}
{{/containers}}
*Events:* {{count}}{{#window}} within {{window}}{{/window}}
*First seen:* {{firstSeen}}    *Last seen:* {{lastSeen}}
{{#resolved}}
*Resolved:* {{endsAt}} (lasted {{duration}})
{{/resolved}}
{{#hasSamples}}
*Recent messages:*
{{#samples}}
> {{.}}
{{/samples}}
{{/hasSamples}}
{{#link}}
<{{link}}|Details>
{{/link}}
`;

/** Slack's fallback text (notifications, clients without blocks). */
export const SLACK_FALLBACK = '[{{statusText}}] {{title}}: {{summary}}';
