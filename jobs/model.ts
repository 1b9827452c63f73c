/**
 * What a rendered job says, read from its config.xml: where it runs, when it starts,
 * what it executes, what it keeps and publishes. Unknown elements are kept by name so the
 * checker can refuse what it does not understand.
 */
import { at, child, parseXml, textAt, type XmlElement } from './xml.js';

export interface JobParameter {
  name: string;
  /** Jenkins' parameter kind: `string`, `text`, `boolean`, `choice`, `password`, or the XML tag. */
  kind: string;
  defaultValue: string;
  description: string;
}

export interface JobBuilder {
  /** XML tag, e.g. `hudson.tasks.Shell`. */
  type: string;
  /** The script of a shell builder. */
  command?: string;
}

export interface JobModel {
  name: string;
  /** Root tag: `project` for freestyle jobs. */
  projectType: string;
  description: string;
  /** Label expression of the nodes that may run the job; undefined: any node. */
  node: string | undefined;
  canRoam: boolean;
  concurrent: boolean;
  disabled: boolean;
  /** Cron specs of the timed triggers. */
  timers: string[];
  /** Tags of the other triggers. */
  otherTriggers: string[];
  parameters: JobParameter[];
  builders: JobBuilder[];
  buildDiscarder?: { daysToKeep: number; numToKeep: number; artifactDaysToKeep: number; artifactNumToKeep: number };
  throttle?: { enabled: boolean; maxPerNode: number; maxTotal: number };
  /** Build timeout: strategy class and minutes (absolute / likely-stuck) or seconds (no-activity). */
  timeout?: { strategy: string; minutes: number | undefined; fail: boolean };
  junit?: { testResults: string; allowEmpty: boolean };
  /** Downstream jobs triggered by the parameterized-trigger publisher. */
  downstream: { projects: string[]; condition: string; propertiesFile?: string; failOnMissing: boolean; withoutParameters: boolean }[];
  /** Tags of the property, wrapper and publisher elements. */
  properties: string[];
  wrappers: string[];
  publishers: string[];
  /** The parsed document, for checks that need more. */
  xml: XmlElement;
}

const PARAM_KINDS: Record<string, string> = {
  'hudson.model.StringParameterDefinition': 'string',
  'hudson.model.TextParameterDefinition': 'text',
  'hudson.model.BooleanParameterDefinition': 'boolean',
  'hudson.model.ChoiceParameterDefinition': 'choice',
  'hudson.model.PasswordParameterDefinition': 'password',
};

function int(text: string | undefined, fallback = -1): number {
  const n = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(n) ? n : fallback;
}

function parameter(el: XmlElement): JobParameter {
  const kind = PARAM_KINDS[el.name] ?? el.name;
  let defaultValue = textAt(el, 'defaultValue') ?? '';
  if (kind === 'choice') {
    // The first choice is the default of a choice parameter.
    const choices = at(el, 'choices', 'a') ?? child(el, 'choices');
    defaultValue = choices?.children[0]?.text ?? '';
  }
  return { name: textAt(el, 'name') ?? '', kind, defaultValue, description: textAt(el, 'description') ?? '' };
}

export function parseJob(name: string, xml: string): JobModel {
  const root = parseXml(xml);
  const properties = child(root, 'properties')?.children ?? [];
  const params = properties.find((p) => p.name === 'hudson.model.ParametersDefinitionProperty');
  const triggers = child(root, 'triggers')?.children ?? [];
  const wrappers = child(root, 'buildWrappers')?.children ?? [];
  const publishers = child(root, 'publishers')?.children ?? [];

  const discarder = properties.find((p) => p.name === 'jenkins.model.BuildDiscarderProperty');
  const strategy = child(discarder, 'strategy');
  const throttle = properties.find((p) => p.name === 'hudson.plugins.throttleconcurrents.ThrottleJobProperty');
  const timeout = wrappers.find((w) => w.name === 'hudson.plugins.build__timeout.BuildTimeoutWrapper');
  const timeoutStrategy = child(timeout, 'strategy');
  const junit = publishers.find((p) => p.name === 'hudson.tasks.junit.JUnitResultArchiver');
  const trigger = publishers.find((p) => p.name === 'hudson.plugins.parameterizedtrigger.BuildTrigger');

  return {
    name,
    projectType: root.name,
    description: textAt(root, 'description') ?? '',
    node: textAt(root, 'assignedNode') || undefined,
    canRoam: textAt(root, 'canRoam') !== 'false',
    concurrent: textAt(root, 'concurrentBuild') === 'true',
    disabled: textAt(root, 'disabled') === 'true',
    timers: triggers.filter((t) => t.name === 'hudson.triggers.TimerTrigger').map((t) => textAt(t, 'spec') ?? ''),
    otherTriggers: triggers.filter((t) => t.name !== 'hudson.triggers.TimerTrigger').map((t) => t.name),
    parameters: (child(params, 'parameterDefinitions')?.children ?? []).map(parameter),
    builders: (child(root, 'builders')?.children ?? []).map((b) =>
      b.name === 'hudson.tasks.Shell' ? { type: b.name, command: child(b, 'command')?.text ?? '' } : { type: b.name },
    ),
    buildDiscarder: strategy
      ? {
          daysToKeep: int(textAt(strategy, 'daysToKeep')),
          numToKeep: int(textAt(strategy, 'numToKeep')),
          artifactDaysToKeep: int(textAt(strategy, 'artifactDaysToKeep')),
          artifactNumToKeep: int(textAt(strategy, 'artifactNumToKeep')),
        }
      : undefined,
    throttle: throttle
      ? {
          enabled: textAt(throttle, 'throttleEnabled') !== 'false',
          maxPerNode: int(textAt(throttle, 'maxConcurrentPerNode'), 0),
          maxTotal: int(textAt(throttle, 'maxConcurrentTotal'), 0),
        }
      : undefined,
    timeout: timeoutStrategy
      ? {
          strategy: (timeoutStrategy.attrs.class ?? '').replace(/^.*\./, ''),
          minutes:
            textAt(timeoutStrategy, 'timeoutMinutes') !== undefined
              ? int(textAt(timeoutStrategy, 'timeoutMinutes'))
              : textAt(timeoutStrategy, 'timeoutSecondsString') !== undefined
                ? int(textAt(timeoutStrategy, 'timeoutSecondsString')) / 60
                : undefined,
          fail: Boolean(at(timeout, 'operationList', 'hudson.plugins.build__timeout.operations.FailOperation')),
        }
      : undefined,
    junit: junit
      ? { testResults: textAt(junit, 'testResults') ?? '', allowEmpty: textAt(junit, 'allowEmptyResults') === 'true' }
      : undefined,
    downstream: (child(trigger, 'configs')?.children ?? []).map((config) => {
      const file = child(config, 'configs')?.children.find(
        (c) => c.name === 'hudson.plugins.parameterizedtrigger.FileBuildParameters',
      );
      return {
        projects: (textAt(config, 'projects') ?? '').split(',').map((p) => p.trim()).filter(Boolean),
        condition: textAt(config, 'condition') ?? '',
        propertiesFile: textAt(file, 'propertiesFile'),
        failOnMissing: textAt(file, 'failTriggerOnMissing') === 'true',
        withoutParameters: textAt(config, 'triggerWithNoParameters') === 'true',
      };
    }),
    properties: properties.map((p) => p.name),
    wrappers: wrappers.map((w) => w.name),
    publishers: publishers.map((p) => p.name),
    xml: root,
  };
}

/** Variables Jenkins sets for every build (and `byoci job run` too). */
export const JENKINS_VARIABLES = [
  'WORKSPACE', 'WORKSPACE_TMP', 'BUILD_NUMBER', 'BUILD_ID', 'BUILD_DISPLAY_NAME', 'BUILD_TAG', 'BUILD_URL',
  'JOB_NAME', 'JOB_BASE_NAME', 'JOB_URL', 'JENKINS_URL', 'NODE_NAME', 'NODE_LABELS', 'EXECUTOR_NUMBER',
];
