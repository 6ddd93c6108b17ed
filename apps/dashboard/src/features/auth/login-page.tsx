import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/http';
import { login } from './auth-api';

/** Shown instead of the dashboard when the backend wants a login and this browser has none. */
export function LoginPage({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(password);
      onLoggedIn();
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'Wrong password.' : e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="login-page">
      <form className="panel login-form" onSubmit={(e) => void submit(e)} aria-labelledby="login-title" data-testid="login-form">
        <h1 id="login-title">Vigil</h1>
        <p>This backend asks for the admin password.</p>
        <label className="field">
          <span className="field__label">Password</span>
          <input
            type="password"
            required
            autoFocus
            autoComplete="current-password"
            data-testid="login-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="outcome outcome--failed" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="button button--primary" disabled={busy} data-testid="login-submit">
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </div>
      </form>
    </main>
  );
}
