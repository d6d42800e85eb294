import { createAccounts, createMemoryDevices } from '../../../relay/account/index.js';
import { createMemoryStore } from '../../../relay/mailbox/index.js';
import { createMemorySocialStore } from '../../../relay/social/index.js';
import { CONTRACT_LIMITS } from '../mailbox/contract.js';
import { accountContract } from './contract.js';
import { identitiesDouble, MailboxPartDouble, notifierOf, SocialPartDouble } from './doubles.js';

accountContract('memory', async () => {
  const mailboxes = createMemoryStore(CONTRACT_LIMITS);
  const devices = createMemoryDevices(identitiesDouble());
  const mailbox = new MailboxPartDouble();
  const social = new SocialPartDouble(createMemorySocialStore());
  const accounts = createAccounts(devices, { mailbox, social, notifier: notifierOf(mailboxes) });
  return {
    devices,
    accounts,
    mailbox,
    social,
    async notices(uid) {
      const { entries } = await mailboxes.fetch(uid, 0, 0, 1000, Date.UTC(2025, 5, 1, 12));
      return entries.flatMap((e) => (e.kind === 'notice' ? [{ id: e.id, notice: e.notice }] : []));
    },
    traces: async () => null,
    close: () => mailboxes.close(),
  };
});
