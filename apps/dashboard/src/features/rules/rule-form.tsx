import { useState, type FormEvent, type ReactNode } from 'react';
import { EVENT_LEVELS, type EventLevel } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { issuesByField } from '../../api/field-issues';
import { ALERT_COMPARISONS, ALERT_METRICS, type AlertComparison, type AlertMetric, type RuleInput } from './rules-api';
import { METRIC_INFO, thresholdForField, thresholdFromField } from './rule-metrics';

const FIELDS = ['name', 'metric', 'comparison', 'threshold', 'forBeats', 'forMs', 'level', 'service', 'enabled'];

export const NEW_RULE: RuleInput = {
  name: '',
  metric: 'eventLoopDelayP99',
  comparison: '>',
  threshold: 500,
  forBeats: 3,
  forMs: null,
  level: 'important',
  service: null,
  enabled: true,
};

interface RuleFormProps {
  initial: RuleInput;
  title: string;
  /** Known services, offered for the scope. */
  services: readonly string[];
  onSave: (input: RuleInput) => Promise<void>;
  onCancel: () => void;
}

/** The backend's words about one field, under it (the field's input points at it with `aria-describedby`). */
function FieldIssues({ issues, field }: { issues: readonly string[] | undefined; field: string }) {
  if (!issues || issues.length === 0) return null;
  return (
    <span className="field__error" role="alert" id={`rule-${field}-issues`} data-testid={`rule-error-${field}`}>
      {issues.join('; ')}
    </span>
  );
}

/** A labelled field: `children` is its input, with the id `rule-<field>`. */
function Field(props: { label: string; children: ReactNode; issues?: string[]; field: string; grow?: boolean }) {
  return (
    <div className={`field${props.grow ? ' field--grow' : ''}`}>
      <label className="field__label" htmlFor={`rule-${props.field}`}>
        {props.label}
      </label>
      {props.children}
      <FieldIssues issues={props.issues} field={props.field} />
    </div>
  );
}

/** The id and description of a field's input. */
const control = (field: string, invalid: boolean) => ({
  id: `rule-${field}`,
  'aria-describedby': invalid ? `rule-${field}-issues` : undefined,
  'aria-invalid': invalid || undefined,
});

/**
 * Adds or edits one alert rule. The form checks nothing itself (`noValidate`): the backend's
 * 400 names the fields it refuses, and each message is shown beside its field.
 */
export function RuleForm({ initial, title, services, onSave, onCancel }: RuleFormProps) {
  const [name, setName] = useState(initial.name);
  const [metric, setMetric] = useState<AlertMetric>(initial.metric);
  const [comparison, setComparison] = useState<AlertComparison>(initial.comparison);
  const [threshold, setThreshold] = useState(thresholdForField(initial.metric, initial.threshold));
  const [durationKind, setDurationKind] = useState<'beats' | 'seconds'>(initial.forMs !== null ? 'seconds' : 'beats');
  const [duration, setDuration] = useState(String(initial.forMs !== null ? initial.forMs / 1000 : (initial.forBeats ?? '')));
  const [level, setLevel] = useState<EventLevel>(initial.level);
  const [service, setService] = useState(initial.service ?? '');
  const [enabled, setEnabled] = useState(initial.enabled);
  const [saving, setSaving] = useState(false);
  const [issues, setIssues] = useState<ReadonlyMap<string, string[]>>(new Map());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const amount = duration.trim() === '' ? NaN : Number(duration);
    const count = Number.isFinite(amount) ? amount : null;
    setSaving(true);
    setIssues(new Map());
    try {
      await onSave({
        name: name.trim(),
        metric,
        comparison,
        threshold: thresholdFromField(metric, threshold),
        forBeats: durationKind === 'beats' ? count : null,
        forMs: durationKind === 'seconds' && count !== null ? Math.round(count * 1000) : null,
        level,
        service: service.trim() || null,
        enabled,
      });
    } catch (e) {
      if (e instanceof ApiError && e.issues.length > 0) setIssues(issuesByField(e.issues, FIELDS));
      else setIssues(new Map([['', [e instanceof Error ? e.message : String(e)]]]));
      setSaving(false);
    }
  };

  const durationIssues = [...(issues.get('forBeats') ?? []), ...(issues.get('forMs') ?? [])];
  const info = METRIC_INFO[metric];
  return (
    <form className="panel rule-form" noValidate onSubmit={(e) => void submit(e)} aria-labelledby="rule-form-title" data-testid="rule-form">
      <h3 id="rule-form-title">{title}</h3>
      <div className="form-grid">
        <Field label="Name" field="name" issues={issues.get('name')} grow>
          <input
            data-testid="rule-name"
            {...control('name', issues.has('name'))}
            value={name}
            placeholder="Event loop stuck"
            onChange={(e) => setName(e.target.value)}
          />
        </Field>
        <Field label="Metric" field="metric" issues={issues.get('metric')}>
          <select
            data-testid="rule-metric"
            {...control('metric', issues.has('metric'))}
            value={metric}
            onChange={(e) => setMetric(e.target.value as AlertMetric)}
          >
            {ALERT_METRICS.map((m) => (
              <option key={m} value={m}>
                {METRIC_INFO[m].label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Is" field="comparison" issues={issues.get('comparison')}>
          <select
            data-testid="rule-comparison"
            {...control('comparison', issues.has('comparison'))}
            value={comparison}
            onChange={(e) => setComparison(e.target.value as AlertComparison)}
          >
            {ALERT_COMPARISONS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </Field>
        <Field label={`Threshold (${info.unit})`} field="threshold" issues={issues.get('threshold')}>
          <input
            data-testid="rule-threshold"
            {...control('threshold', issues.has('threshold'))}
            inputMode="decimal"
            value={threshold}
            onChange={(e) => setThreshold(e.target.value)}
          />
        </Field>
        <fieldset className="field">
          <legend className="field__label">For</legend>
          <span className="field__pair">
            <input
              data-testid="rule-duration"
              {...control('duration', durationIssues.length > 0)}
              aria-label={durationKind === 'beats' ? 'Beats in a row' : 'Seconds'}
              inputMode="decimal"
              value={duration}
              onChange={(e) => setDuration(e.target.value)}
            />
            <select
              data-testid="rule-duration-kind"
              aria-label="Duration unit"
              value={durationKind}
              onChange={(e) => setDurationKind(e.target.value as 'beats' | 'seconds')}
            >
              <option value="beats">beats in a row</option>
              <option value="seconds">seconds</option>
            </select>
          </span>
          <FieldIssues issues={durationIssues} field="duration" />
        </fieldset>
        <Field label="Level" field="level" issues={issues.get('level')}>
          <select
            data-testid="rule-level"
            {...control('level', issues.has('level'))}
            value={level}
            onChange={(e) => setLevel(e.target.value as EventLevel)}
          >
            {EVENT_LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Service (empty: every service)" field="service" issues={issues.get('service')}>
          <input
            data-testid="rule-service"
            {...control('service', issues.has('service'))}
            list="rule-services"
            value={service}
            onChange={(e) => setService(e.target.value)}
          />
          <datalist id="rule-services">
            {services.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </Field>
        <label className="toggle">
          <input type="checkbox" data-testid="rule-enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          enabled
        </label>
      </div>
      <FieldIssues issues={issues.get('')} field="form" />
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={saving} data-testid="rule-save">
          {saving ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="button button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
