import { useState } from 'react';
import { ApiError } from '../../api/http';
import type { LifecycleAction } from './commands-api';

interface LifecycleButtonsProps {
  plugin: string;
  /** Who the command is for, in the confirmation ("on this instance", "on 4 instances of orders"). */
  target: string;
  /** Sends the command; a refusal is thrown and shown here. */
  send: (action: 'upgrade' | 'uninstall', version: string) => Promise<void>;
}

const describe = (error: unknown) => (error instanceof ApiError ? error.message : String(error));

/**
 * Upgrade (to a version given here, or the one the agent finds) and uninstall, each a second
 * step before it is sent: an uninstall takes the plugin's interceptors out of running services.
 */
export function LifecycleButtons({ plugin, target, send }: LifecycleButtonsProps) {
  const [mode, setMode] = useState<'idle' | LifecycleAction>('idle');
  const [version, setVersion] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const go = async (action: 'upgrade' | 'uninstall') => {
    setBusy(true);
    setError(null);
    try {
      await send(action, version);
      setMode('idle');
      setVersion('');
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => {
    setMode('idle');
    setError(null);
  };

  return (
    <span className="lifecycle">
      {mode === 'idle' && (
        <>
          <button type="button" className="button" data-testid="plugin-upgrade" onClick={() => setMode('upgrade')}>
            Upgrade…
          </button>
          <button type="button" className="button button--danger" data-testid="plugin-uninstall" onClick={() => setMode('uninstall')}>
            Uninstall…
          </button>
        </>
      )}
      {mode === 'upgrade' && (
        <form
          className="lifecycle__step"
          onSubmit={(e) => {
            e.preventDefault();
            void go('upgrade');
          }}
        >
          <input
            data-testid="plugin-upgrade-version"
            aria-label={`Version to upgrade ${plugin} to`}
            placeholder="version (blank: what the agent finds)"
            value={version}
            onChange={(e) => setVersion(e.target.value)}
          />
          <button type="submit" className="button button--primary" disabled={busy} data-testid="plugin-upgrade-send">
            Upgrade {target}
          </button>
          <button type="button" className="button button--quiet" onClick={cancel}>
            Cancel
          </button>
        </form>
      )}
      {mode === 'uninstall' && (
        <span className="lifecycle__step">
          <span>
            Uninstall {plugin} {target}?
          </span>
          <button
            type="button"
            className="button button--danger"
            disabled={busy}
            data-testid="plugin-uninstall-confirm"
            onClick={() => void go('uninstall')}
          >
            Uninstall
          </button>
          <button type="button" className="button button--quiet" onClick={cancel}>
            Cancel
          </button>
        </span>
      )}
      {error && (
        <span className="field__error" role="alert" data-testid="command-error">
          {error}
        </span>
      )}
    </span>
  );
}
