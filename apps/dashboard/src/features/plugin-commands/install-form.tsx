import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/http';
import { issuesByField } from '../../api/field-issues';

const FIELDS = ['plugin', 'version', 'service'];

interface InstallFormProps {
  /** Services to choose from; absent: the form installs on one instance, which is known. */
  services?: readonly string[];
  /** Sends the install; a refusal is thrown and shown beside the field it names. */
  send: (plugin: string, version: string, service: string) => Promise<void>;
}

/**
 * Installs a plugin that the agents find where they find plugins at start (their `plugins.dir`
 * folders and the service's node_modules), by name and optionally version.
 */
export function InstallForm({ services, send }: InstallFormProps) {
  const id = useId();
  const [plugin, setPlugin] = useState('');
  const [version, setVersion] = useState('');
  const [service, setService] = useState('');
  const [busy, setBusy] = useState(false);
  const [issues, setIssues] = useState<ReadonlyMap<string, string[]>>(new Map());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // Without a name there is no command path to send to (the backend would answer 404, not name the field),
    // and without a service the command would be for nobody.
    const missing = new Map<string, string[]>();
    if (!plugin.trim()) missing.set('plugin', ['give the name of the plugin to install']);
    if (services && !service) missing.set('service', ['choose the service whose instances get it']);
    if (missing.size > 0) {
      setIssues(missing);
      return;
    }
    setBusy(true);
    setIssues(new Map());
    try {
      await send(plugin.trim(), version.trim(), service);
      setPlugin('');
      setVersion('');
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(issuesByField(e.issues, FIELDS));
      else setIssues(new Map([['', [e instanceof Error ? e.message : String(e)]]]));
    } finally {
      setBusy(false);
    }
  };

  const issue = (field: string) => {
    const words = issues.get(field);
    return words ? (
      <span className="field__error" role="alert" id={`${id}-${field}-issues`} data-testid={`install-error-${field || 'form'}`}>
        {words.join('; ')}
      </span>
    ) : null;
  };
  const described = (field: string) => ({
    'aria-invalid': issues.has(field) || undefined,
    'aria-describedby': issues.has(field) ? `${id}-${field}-issues` : undefined,
  });

  return (
    <form className="install-form" noValidate onSubmit={(e) => void submit(e)} data-testid="install-form">
      <div className="form-grid">
        <div className="field">
          <label className="field__label" htmlFor={`${id}-plugin`}>
            Plugin
          </label>
          <input
            id={`${id}-plugin`}
            data-testid="install-plugin"
            value={plugin}
            placeholder="name"
            onChange={(e) => setPlugin(e.target.value)}
            {...described('plugin')}
          />
          {issue('plugin')}
        </div>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-version`}>
            Version (optional)
          </label>
          <input
            id={`${id}-version`}
            data-testid="install-version"
            value={version}
            placeholder="what the agent finds"
            onChange={(e) => setVersion(e.target.value)}
            {...described('version')}
          />
          {issue('version')}
        </div>
        {services && (
          <div className="field">
            <label className="field__label" htmlFor={`${id}-service`}>
              On every running instance of
            </label>
            <select
              id={`${id}-service`}
              data-testid="install-service"
              value={service}
              onChange={(e) => setService(e.target.value)}
              {...described('service')}
            >
              <option value="">choose a service</option>
              {services.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            {issue('service')}
          </div>
        )}
        <button type="submit" className="button button--primary" disabled={busy} data-testid="install-send">
          {busy ? 'Sending…' : 'Install'}
        </button>
      </div>
      {issue('')}
    </form>
  );
}
