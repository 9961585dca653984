/**
 * Every alert receiver. A new receiver is one file in this folder and one line here; the alerts
 * configuration schema, its checks and docs/alerting.md's option tables follow.
 */
import { alertmanagerReceiver } from './alertmanager.js';
import type { ReceiverDefinition } from './definition.js';
import { dingtalkReceiver } from './dingtalk.js';
import { slackReceiver } from './slack.js';
import type { Receiver, ReceiverConfig } from './types.js';
import { webhookReceiver } from './webhook.js';
import { wecomReceiver } from './wecom.js';

export const RECEIVERS: readonly ReceiverDefinition[] = [dingtalkReceiver, wecomReceiver, slackReceiver, webhookReceiver, alertmanagerReceiver];

export const RECEIVER_TYPES: readonly string[] = RECEIVERS.map((r) => r.type);

const BY_TYPE = new Map(RECEIVERS.map((r) => [r.type, r]));

export function receiverOf(type: string): ReceiverDefinition | undefined {
  return BY_TYPE.get(type);
}

/** The receiver for a resolved configuration. */
export function createReceiver(config: ReceiverConfig, options: { externalUrl?: string | null } = {}): Receiver {
  const definition = BY_TYPE.get(config.type);
  if (!definition) throw new Error(`unknown receiver type "${config.type}" (receivers: ${RECEIVER_TYPES.join(', ')})`);
  return definition.create(config, { externalUrl: options.externalUrl ?? null });
}
