import type { ConnectionState } from '../live/live-store';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  connected: 'live',
  disconnected: 'reconnecting…',
};

/** The state of the live connection, as a word and a colour. */
export function ConnectionIndicator({ state }: { state: ConnectionState }) {
  return (
    <span className={`connection connection--${state}`} data-testid="connection" data-state={state} role="status">
      {LABELS[state]}
    </span>
  );
}

/**
 * Says loudly that what is on screen has stopped updating. It floats over the page instead of
 * pushing it down, so nothing moves when the connection drops or comes back.
 */
export function DisconnectedBanner({ state }: { state: ConnectionState }) {
  if (state !== 'disconnected') return null;
  return (
    <div className="disconnected-banner" data-testid="disconnected-banner" role="alert">
      Connection to the backend lost: this page is not updating. Reconnecting… (everything is reloaded once it is back)
    </div>
  );
}
