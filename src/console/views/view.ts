import type { AlertFeed } from '../alert-feed.js';
import type { Session } from '../session.js';

export interface ViewContext {
  feed: AlertFeed;
  canAdminister: boolean;
  session: Session;
}

/** A view renders into `root` and may return what to undo when the user leaves it. */
export type View = (root: HTMLElement, ctx: ViewContext) => (() => void) | void;
