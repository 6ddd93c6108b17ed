import { useState, type FormEvent } from 'react';
import type { SettingDeclaration, SettingValues } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { saveConfig } from './config-api';
import type { ConfigScope } from './config-route';
import { fieldOf, formatValue, initialFields, settingIssues, valuesOf, type FieldState } from './setting-fields';

interface ConfigFormProps {
  scope: ConfigScope;
  settings: Readonly<Record<string, SettingDeclaration>>;
  /** The current values (for an instance: its overrides). */
  values: SettingValues;
  /** For an instance: the service's values its overrides apply over. */
  inherited: SettingValues | null;
  onSaved: (version: number) => void;
}

const collator = new Intl.Collator('en', { numeric: true });

function SettingInput(props: {
  name: string;
  declaration: SettingDeclaration;
  field: FieldState;
  disabled: boolean;
  invalid: boolean;
  onChange: (field: FieldState) => void;
}) {
  const { name, declaration, field, disabled, invalid, onChange } = props;
  const common = {
    id: `setting-${name}`,
    'data-testid': `setting-${name}`,
    disabled,
    'aria-invalid': invalid || undefined,
    'aria-describedby': `setting-${name}-help${invalid ? ` setting-${name}-issues` : ''}`,
  };
  if (declaration.type === 'boolean')
    return <input type="checkbox" {...common} checked={field === true} onChange={(e) => onChange(e.target.checked)} />;
  if (declaration.type === 'string[]')
    return <textarea {...common} rows={3} value={String(field)} onChange={(e) => onChange(e.target.value)} />;
  return (
    <input
      {...common}
      inputMode={declaration.type === 'number' ? 'decimal' : undefined}
      value={String(field)}
      onChange={(e) => onChange(e.target.value)}
    />
  );
}

/**
 * One input per declared setting, by its type (a checkbox, a number, text, a list one item per
 * line). For an instance, each setting is either inherited from the service or overridden here.
 * The form checks nothing itself: the API's 400 names the setting, shown beside it.
 */
export function ConfigForm({ scope, settings, values, inherited, onSaved }: ConfigFormProps) {
  const names = Object.keys(settings).sort(collator.compare);
  const [fields, setFields] = useState(() => initialFields(settings, inherited ? { ...inherited, ...values } : values));
  const [overridden, setOverridden] = useState(() => new Set(Object.keys(values)));
  const [comment, setComment] = useState('');
  const [saving, setSaving] = useState(false);
  const [issues, setIssues] = useState<ReadonlyMap<string, string[]>>(new Map());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setIssues(new Map());
    try {
      const version = await saveConfig(scope, valuesOf(settings, fields, inherited ? overridden : names), comment);
      setComment('');
      onSaved(version);
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(settingIssues(e.issues, names));
      else setIssues(new Map([['', [e instanceof Error ? e.message : String(e)]]]));
    } finally {
      setSaving(false);
    }
  };

  const toggleOverride = (name: string, on: boolean) => {
    setOverridden((current) => {
      const next = new Set(current);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
    // Back to inherited: the field shows the service's value again.
    const declaration = settings[name];
    if (!on && declaration && inherited) setFields((f) => ({ ...f, [name]: fieldOf(declaration, inherited[name] ?? declaration.default) }));
  };

  const issueLine = (key: string, id: string) => {
    const words = issues.get(key);
    return words ? (
      <span className="field__error" role="alert" id={id} data-testid={`setting-error-${key || 'form'}`}>
        {words.join('; ')}
      </span>
    ) : null;
  };

  return (
    <form className="config-form" noValidate onSubmit={(e) => void submit(e)} data-testid="config-form">
      <div className="setting-list">
        {names.map((name) => {
          const declaration = settings[name]!;
          const isInherited = inherited !== null && !overridden.has(name);
          return (
            <div key={name} className="setting" data-testid="setting" data-setting={name}>
              <div className="setting__head">
                <label className="setting__name" htmlFor={`setting-${name}`}>
                  {name}
                </label>{' '}
                <span className="tag">{declaration.type}</span>
                {inherited && (
                  <label className="toggle setting__override">
                    <input
                      type="checkbox"
                      data-testid={`setting-override-${name}`}
                      checked={!isInherited}
                      onChange={(e) => toggleOverride(name, e.target.checked)}
                    />
                    override on this instance
                  </label>
                )}
              </div>
              <SettingInput
                name={name}
                declaration={declaration}
                field={fields[name] ?? ''}
                disabled={isInherited}
                invalid={issues.has(name)}
                onChange={(field) => setFields((f) => ({ ...f, [name]: field }))}
              />
              <span className="setting__help muted" id={`setting-${name}-help`}>
                {declaration.description && <>{declaration.description}. </>}
                default {formatValue(declaration.default)}
                {isInherited && <>; the service&apos;s value applies</>}
                {declaration.type === 'string[]' && <>; one item per line</>}
              </span>
              {issueLine(name, `setting-${name}-issues`)}
            </div>
          );
        })}
      </div>
      <div className="form-grid">
        <div className="field field--grow">
          <label className="field__label" htmlFor="config-comment">
            Comment (why; kept in the history)
          </label>
          <input id="config-comment" data-testid="config-comment" value={comment} onChange={(e) => setComment(e.target.value)} />
          {issueLine('comment', 'config-comment-issues')}
        </div>
        <button type="submit" className="button button--primary" disabled={saving} data-testid="config-save">
          {saving ? 'Saving…' : 'Save as a new version'}
        </button>
      </div>
      {issueLine('', 'config-form-issues')}
    </form>
  );
}
