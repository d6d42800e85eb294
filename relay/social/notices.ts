import type { Notice } from '../../protocol/index.js';
import { noticeEntryId } from '../mailbox/index.js';
import type { SocialDeps } from './handlers.js';

/**
 * Files a notice in uid's mailbox under the entry ID of (`about`, `tag`): the same notice filed
 * again (a re-driven step) is a no-op. It expires at `exp`, or after the longest message life.
 */
export async function fileNotice(
  d: SocialDeps,
  uid: string,
  tag: string,
  notice: Notice,
  exp?: number,
  about = 'user' in notice ? notice.user : uid,
): Promise<void> {
  const at = d.now();
  await d.store.notify(uid, noticeEntryId(about, tag), notice, at, exp ?? at + d.config.maxTtlSeconds * 1000);
}
