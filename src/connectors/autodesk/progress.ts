/** The live line a bulk Autodesk run shows on its approval card and in the requester's DM. */
import type { ItemState, RequestKind } from '../../requests/model.js';

export interface ProgressLineOptions {
  kind: RequestKind;
  /** @default 'deactivate' */
  offboardAction?: 'deactivate' | 'delete';
  /** @default 'Autodesk' */
  appName?: string;
}

/** "Autodesk: 120/300 deactivated, 2 failed, 3 waiting for the invitation to be accepted". */
export function autodeskProgressLine(items: readonly { state: ItemState; detail?: string | null }[], options: ProgressLineOptions): string {
  const done = items.filter((item) => item.state === 'completed').length;
  const failed = items.filter((item) => item.state === 'failed').length;
  const invited = items.filter((item) => item.state === 'in_progress' && item.detail?.startsWith('invited')).length;
  const verb = options.kind === 'onboard' ? 'set up' : options.offboardAction === 'delete' ? 'deleted' : 'deactivated';
  const parts = [`${options.appName ?? 'Autodesk'}: ${done}/${items.length} ${verb}`];
  if (failed > 0) parts.push(`${failed} failed`);
  if (invited > 0) parts.push(`${invited} waiting for the invitation to be accepted`);
  return parts.join(', ');
}
