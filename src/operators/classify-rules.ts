import type { Category, Severity } from '../model/kube-event.js';

/**
 * One classification rule. Rules are plain data (YAML-friendly): every condition that is set must
 * hold (AND); list-valued conditions match any of their values (OR). The first matching rule in
 * order wins. Patterns are JavaScript regular expression sources, matched case-insensitively.
 */
export interface ClassificationRule {
  /** Unique name; a user rule with a built-in rule's name replaces it in place. */
  name: string;
  /** Exact event reason(s). */
  reason?: string | string[];
  /** Regular expression on the reason. */
  reasonPattern?: string;
  /** Kind(s) of the regarding object, e.g. Pod, Node. */
  kind?: string | string[];
  /** Event type(s): Normal, Warning. */
  type?: string | string[];
  /** Regular expression on the message. */
  messagePattern?: string;
  /** Reporting controller(s), e.g. kubelet, default-scheduler. */
  reportingController?: string | string[];
  /** Any container's last termination reason or waiting reason (needs enrich before classify), e.g. OOMKilled. */
  containerReason?: string | string[];
  category: Category;
  severity: Severity;
}

/**
 * The built-in rules, most specific first. Reasons are those of kubelet, the scheduler, the node
 * lifecycle and taint eviction controllers, the workload controllers, the attach/detach and
 * persistent volume controllers, the HPA, the service/endpoint controllers and cluster-autoscaler.
 */
export const BUILT_IN_RULES: readonly ClassificationRule[] = [
  // OOM
  { name: 'oom-killing', reason: ['OOMKilling', 'OOMKilled'], category: 'OOM', severity: 'error' },
  { name: 'system-oom', reason: 'SystemOOM', category: 'OOM', severity: 'warning' },
  {
    name: 'backoff-after-oom',
    reason: ['BackOff', 'CrashLoopBackOff'],
    containerReason: 'OOMKilled',
    messagePattern: 'restarting failed container',
    category: 'OOM',
    severity: 'error',
  },

  // Image
  {
    name: 'image-pull-backoff',
    reason: ['ImagePullBackOff', 'ErrImagePull', 'ErrImageNeverPull', 'InvalidImageName', 'ErrImageInspect', 'RegistryUnavailable'],
    category: 'Image',
    severity: 'error',
  },
  { name: 'image-backoff', reason: 'BackOff', messagePattern: 'back-?off pulling image', category: 'Image', severity: 'warning' },
  {
    name: 'image-failed',
    reason: ['Failed', 'InspectFailed'],
    messagePattern: 'ErrImagePull|ImagePullBackOff|pull(ing)? image|InvalidImageName|ErrImageNeverPull|image .*(not (found|present)|pull)',
    category: 'Image',
    severity: 'error',
  },
  { name: 'image-pulling', reason: ['Pulling', 'Pulled'], category: 'Image', severity: 'info' },

  // CrashLoop
  {
    name: 'crashloop-backoff',
    reason: ['BackOff', 'CrashLoopBackOff'],
    messagePattern: 'restarting failed container|crashloop',
    category: 'CrashLoop',
    severity: 'error',
  },
  { name: 'backoff', reason: 'BackOff', category: 'CrashLoop', severity: 'warning' },

  // Probe
  { name: 'liveness-killing', reason: 'Killing', messagePattern: '(liveness|startup) probe', category: 'Probe', severity: 'warning' },
  { name: 'probe-unhealthy', reason: 'Unhealthy', category: 'Probe', severity: 'warning' },
  { name: 'probe-warning', reason: 'ProbeWarning', category: 'Probe', severity: 'info' },

  // Scheduling
  { name: 'failed-scheduling', reason: ['FailedScheduling', 'FailedBinding'], kind: 'Pod', category: 'Scheduling', severity: 'warning' },
  { name: 'preempted', reason: ['Preempted', 'Preempting'], category: 'Scheduling', severity: 'warning' },
  { name: 'scheduled', reason: 'Scheduled', category: 'Scheduling', severity: 'info' },

  // Eviction
  { name: 'evicted', reason: 'Evicted', category: 'Eviction', severity: 'error' },
  { name: 'taint-eviction', reason: ['TaintManagerEviction', 'NodeNotReadyEviction'], category: 'Eviction', severity: 'warning' },
  { name: 'eviction-threshold', reason: ['EvictionThresholdMet', 'ExceededEphemeralStorage'], category: 'Eviction', severity: 'warning' },

  // Node
  { name: 'node-not-ready', reason: ['NodeNotReady', 'NodeNotReachable'], category: 'Node', severity: 'critical' },
  {
    name: 'node-pressure',
    reason: ['NodeHasDiskPressure', 'NodeHasMemoryPressure', 'NodeHasPIDPressure', 'NodeHasInsufficientMemory', 'NodeHasInsufficientPID', 'NodeOutOfDisk'],
    category: 'Node',
    severity: 'warning',
  },
  {
    name: 'node-problem',
    reason: [
      'Rebooted',
      'ContainerGCFailed',
      'ImageGCFailed',
      'FreeDiskSpaceFailed',
      'InvalidDiskCapacity',
      'KernelDeadlock',
      'KubeletSetupFailed',
      'FailedNodeAllocatableEnforcement',
      'ContainerRuntimeUnhealthy',
      'ReadonlyFilesystem',
      'CorruptDockerOverlay2',
      'TaskHung',
    ],
    category: 'Node',
    severity: 'warning',
  },
  {
    name: 'node-info',
    reason: [
      'NodeReady',
      'NodeHasSufficientMemory',
      'NodeHasNoDiskPressure',
      'NodeHasSufficientPID',
      'NodeSchedulable',
      'NodeNotSchedulable',
      'NodeAllocatableEnforced',
      'RegisteredNode',
      'RemovingNode',
      'DeletingNode',
      'Starting',
      'CIDRNotAvailable',
    ],
    kind: 'Node',
    category: 'Node',
    severity: 'info',
  },

  // Storage
  {
    name: 'volume-failed',
    reason: [
      'FailedMount',
      'FailedAttachVolume',
      'FailedMapVolume',
      'FailedUnMount',
      'FailedUnmount',
      'FailedDetachVolume',
      'VolumeFailedDetach',
      'ProvisioningFailed',
      'VolumeResizeFailed',
      'FileSystemResizeFailed',
      'FailedBinding',
      'VolumeConditionAbnormal',
    ],
    category: 'Storage',
    severity: 'warning',
  },
  {
    name: 'volume-info',
    reason: [
      'SuccessfulAttachVolume',
      'SuccessfulMountVolume',
      'SuccessfulDetachVolume',
      'ProvisioningSucceeded',
      'ExternalProvisioning',
      'Provisioning',
      'WaitForFirstConsumer',
      'WaitForPodScheduled',
      'FileSystemResizeSuccessful',
      'VolumeResizeSuccessful',
    ],
    category: 'Storage',
    severity: 'info',
  },

  // Network
  {
    name: 'sandbox-network',
    reason: 'FailedCreatePodSandBox',
    messagePattern: 'network|cni|plugin type|calico|cilium|flannel|weave|ip address|ipam',
    category: 'Network',
    severity: 'error',
  },
  { name: 'network-not-ready', reason: ['NetworkNotReady', 'FailedToCreateRoute', 'DNSConfigForming'], category: 'Network', severity: 'warning' },
  {
    name: 'endpoints-failed',
    reason: ['FailedToUpdateEndpoint', 'FailedToUpdateEndpointSlices', 'FailedToCreateEndpoint'],
    category: 'Network',
    severity: 'warning',
  },
  {
    name: 'load-balancer-failed',
    reason: ['SyncLoadBalancerFailed', 'CreatingLoadBalancerFailed', 'UpdateLoadBalancerFailed', 'DeletingLoadBalancerFailed'],
    category: 'Network',
    severity: 'error',
  },
  {
    name: 'load-balancer-info',
    reason: ['EnsuringLoadBalancer', 'EnsuredLoadBalancer', 'UpdatedLoadBalancer', 'DeletedLoadBalancer'],
    category: 'Network',
    severity: 'info',
  },

  // Scaling
  { name: 'failed-create', reason: ['FailedCreate', 'FailedDelete'], category: 'Scaling', severity: 'error' },
  {
    name: 'hpa-failed',
    reason: [
      'FailedGetResourceMetric',
      'FailedGetExternalMetric',
      'FailedGetPodsMetric',
      'FailedGetObjectMetric',
      'FailedComputeMetricsReplicas',
      'FailedGetScale',
      'FailedRescale',
      'FailedUpdateStatus',
    ],
    category: 'Scaling',
    severity: 'warning',
  },
  { name: 'autoscaler-no-scale-up', reason: ['NotTriggerScaleUp', 'FailedToScaleUpGroup', 'ScaleDownFailed'], category: 'Scaling', severity: 'warning' },
  {
    name: 'scaling-info',
    reason: ['SuccessfulCreate', 'SuccessfulDelete', 'ScalingReplicaSet', 'SuccessfulRescale', 'TriggeredScaleUp', 'ScaleDown', 'ScaleDownEmpty'],
    category: 'Scaling',
    severity: 'info',
  },

  // Lifecycle
  {
    name: 'job-failed',
    reason: ['BackoffLimitExceeded', 'DeadlineExceeded', 'PodFailurePolicy', 'MaxFailedIndexesExceeded'],
    category: 'Lifecycle',
    severity: 'error',
  },
  {
    name: 'container-failed',
    reason: [
      'Failed',
      'FailedCreatePodSandBox',
      'FailedCreatePodContainer',
      'FailedPostStartHook',
      'FailedPreStopHook',
      'FailedKillPod',
      'FailedSync',
      'FailedValidation',
      'CreateContainerConfigError',
      'CreateContainerError',
    ],
    category: 'Lifecycle',
    severity: 'warning',
  },
  {
    name: 'lifecycle-warning',
    reason: ['SandboxChanged', 'ExceededGracePeriod', 'FailedDaemonPod', 'ProgressDeadlineExceeded', 'MinimumReplicasUnavailable'],
    category: 'Lifecycle',
    severity: 'warning',
  },
  {
    name: 'lifecycle-info',
    reason: [
      'Killing',
      'Created',
      'Started',
      'Completed',
      'SawCompletedJob',
      'SuccessfulCreatePodSandBox',
      'Pulled',
      'Scheduled',
      'Reconciling',
      'Sync',
      'DeploymentRollback',
      'DeploymentPaused',
      'DeploymentResumed',
    ],
    category: 'Lifecycle',
    severity: 'info',
  },
];
