import { AlertmanagerReceiver } from './alertmanager.js';
import { DingTalkReceiver } from './dingtalk.js';
import { SlackReceiver } from './slack.js';
import type { Receiver, ReceiverConfig } from './types.js';
import { WebhookReceiver } from './webhook.js';
import { WeComReceiver } from './wecom.js';

export * from './types.js';

/** The receiver for a resolved configuration. */
export function createReceiver(config: ReceiverConfig, options: { externalUrl?: string | null } = {}): Receiver {
  switch (config.type) {
    case 'dingtalk':
      return new DingTalkReceiver(config);
    case 'wecom':
      return new WeComReceiver(config);
    case 'slack':
      return new SlackReceiver(config);
    case 'webhook':
      return new WebhookReceiver(config);
    case 'alertmanager':
      return new AlertmanagerReceiver(config, options.externalUrl ?? null);
  }
}
