import type { CommandSpec } from '../cli/spec.js';
import { DIR, FILE, HOME, JSON_, OPERATOR_OPTIONS, output, URL_ } from './table-options.js';
import { busCommands, kmsCommands, storageCommands } from './table-resources.js';

// The `flotilla` command table: help, parsing, completion and the test that walks every
// command come from it. Handlers load only when their command runs.

const fleetCommands: CommandSpec[] = [
  {
    name: 'up',
    summary: 'run the fleet on this machine',
    description:
      'Runs the fleet on this machine: the control plane, then every service of the fleet file as its own\nprocess with its own identity, port and data. Ctrl-C stops everything.',
    options: {
      file: FILE,
      home: HOME,
      'compile-only': {
        type: 'boolean',
        description: 'compile every service of the fleet and exit (npm install runs it)',
      },
    },
    examples: ['flotilla up', 'flotilla up --file flotilla.yaml --home /tmp/fleet'],
    handler: async () => (await import('./up.js')).up,
  },
  {
    name: 'dev',
    summary: 'run the fleet with live reload of changed services',
    description: "flotilla up, and a change under a service's folder restarts that service alone.",
    options: { file: FILE, home: HOME },
    examples: ['flotilla dev'],
    handler: async () => (await import('./up.js')).dev,
  },
  {
    name: 'status',
    summary: 'instances, identities, certificate expiry, readiness, memory',
    description:
      'Each service of the running fleet: its identity, certificate expiry, readiness and memory (RSS,\nPSS, private), and the memory of the flotilla up process. Exits 1 when a service is not ready.',
    options: { output: output(['table', 'json']), json: JSON_, home: HOME },
    examples: ['flotilla status', 'flotilla status -o json | jq .services'],
    handler: async () => (await import('./status.js')).status,
  },
  {
    name: 'services',
    summary: 'services and instances in the registry, with health',
    options: { output: output(['table', 'json']), json: JSON_, home: HOME },
    examples: ['flotilla services', 'flotilla services -o json'],
    handler: async () => (await import('./services.js')).services,
  },
  {
    name: 'logs',
    summary: 'the fleet logs, merged, one prefix per service',
    description:
      "The logs of the fleet's processes, merged by time, with level names (in colour on a terminal,\nunless NO_COLOR is set).",
    options: {
      follow: { type: 'boolean', short: 'f', description: 'keep printing new lines, from new log files too' },
      service: { type: 'string', value: 'NAME', multiple: true, description: 'only this service' },
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'only lines newer than 10m, 2h, 1d… or an ISO time',
      },
      tail: { type: 'string', value: 'N', description: 'only the last N lines (then follow)' },
      output: output(['text', 'json']),
      home: HOME,
    },
    examples: [
      'flotilla logs --service metadata --since 10m',
      'flotilla logs -f --tail 20',
      'flotilla logs -o json | jq .msg',
    ],
    handler: async () => (await import('./logs.js')).logs,
  },
  {
    name: 'reset',
    summary: 'delete the local state (data, secrets, CA) for a fresh start',
    description:
      "Deletes the local state of a stopped fleet for a fresh start: every service's embedded database\n(data/), the secrets and demo passwords (secrets/), the certificate authority and its keys, logs\nand compiled services. With DATABASE_URL set, also drops the fleet's schemas there (one per\nservice: control, auth and each service in the fleet file). Without --yes it only lists what it\nwould delete (and exits 2).",
    options: { yes: { type: 'boolean', description: 'delete, do not just list' }, file: FILE, home: HOME },
    examples: ['flotilla reset', 'flotilla reset --yes'],
    handler: async () => (await import('./reset.js')).reset,
  },
  {
    name: 'token',
    summary: 'an access token for a configured confidential client',
    description:
      "A client-credentials access token from the running fleet's auth service, printed alone for\nscripts. The client and its secret come from the fleet (flotilla.yaml auth.clients).",
    options: {
      client: { type: 'string', value: 'ID', description: 'the confidential client (required)' },
      scope: { type: 'string', value: 'SCOPES', description: 'space-separated scopes to ask for' },
      home: HOME,
    },
    examples: ['curl -H "authorization: Bearer $(flotilla token --client flixtube-ops)" …'],
    handler: async () => (await import('./token.js')).token,
  },
  {
    name: 'control',
    summary: 'run the control plane (CA, registry, policies) alone',
    description:
      'Runs the control plane alone, in the foreground. Settings from the environment: FLOTILLA_HOME\n(.flotilla), PORT (API, mTLS; 7443), CONTROL_PUBLIC_PORT (CRL/OCSP, plain HTTP; 7080),\nFLOTILLA_TRUST_DOMAIN, FLOTILLA_CERT_TTL_SECONDS, FLOTILLA_CA_KEK, FLOTILLA_ADMIN_TOKEN,\nDATABASE_URL.',
    handler: async () => (await import('./control.js')).control,
  },
];

const caCommands: CommandSpec = {
  name: 'ca',
  summary: 'join tokens, certificates, revocation, trust bundle, rotation',
  description:
    "The control plane's certificate authority, over TLS. The control plane is found by --url,\nFLOTILLA_CONTROL_URL, <home>/control.json or the running fleet; its roots in\nFLOTILLA_CA_BUNDLE_FILE or <home>/ca.pem; the admin token in FLOTILLA_ADMIN_TOKEN or\n<home>/secrets/admin-token.",
  subcommands: [
    {
      name: 'token',
      summary: 'print a one-time join token for a service',
      positionals: [{ name: 'service', required: true }],
      options: {
        ttl: { type: 'string', value: 'SECONDS', description: 'how long it is valid', default: '600' },
        url: URL_,
        home: HOME,
      },
      examples: ['FLOTILLA_JOIN_TOKEN=$(flotilla ca token metadata) node main.js'],
      handler: async () => (await import('./ca.js')).caToken,
    },
    {
      name: 'sign',
      summary: 'sign a CSR with a join token; prints the chain PEM',
      options: {
        csr: { type: 'string', value: 'FILE', description: 'the PEM CSR (required)' },
        token: { type: 'string', value: 'TOKEN', description: 'a join token for its service (required)' },
        url: URL_,
        home: HOME,
      },
      examples: ['flotilla ca sign --csr metadata.csr --token "$TOKEN" > metadata.pem'],
      handler: async () => (await import('./ca.js')).caSign,
    },
    {
      name: 'revoke',
      summary: 'revoke a certificate, or every one of a service',
      positionals: [{ name: 'serial' }],
      options: {
        service: { type: 'string', value: 'NAME', description: 'revoke every certificate of this service' },
        reason: {
          type: 'string',
          value: 'REASON',
          description: 'RFC 5280 reason',
          choices: [
            'unspecified',
            'keyCompromise',
            'affiliationChanged',
            'superseded',
            'cessationOfOperation',
            'privilegeWithdrawn',
          ],
        },
        url: URL_,
        home: HOME,
      },
      examples: ['flotilla ca revoke 3f9a…', 'flotilla ca revoke --service history --reason keyCompromise'],
      handler: async () => (await import('./ca.js')).caRevoke,
    },
    {
      name: 'bundle',
      summary: 'print the trust bundle (roots, then intermediates)',
      options: { output: output(['pem', 'json', 'table']), json: JSON_, url: URL_, home: HOME },
      examples: ['flotilla ca bundle > roots.pem', 'flotilla ca bundle -o table'],
      handler: async () => (await import('./ca.js')).caBundle,
    },
    {
      name: 'rotate',
      summary: 'rotate a CA (default: the intermediate)',
      options: {
        intermediate: { type: 'boolean', description: 'a new intermediate (the default)' },
        root: { type: 'boolean', description: 'a new root, published before anything chains to it' },
        url: URL_,
        home: HOME,
      },
      examples: ['flotilla ca rotate', 'flotilla ca rotate --root'],
      handler: async () => (await import('./ca.js')).caRotate,
    },
  ],
};

const policyCommands: CommandSpec = {
  name: 'policy',
  summary: 'validate, test, lint and explain policies',
  subcommands: [
    {
      name: 'validate',
      summary: 'parse and validate every policy against the schema',
      options: { dir: DIR },
      handler: async () => (await import('./policy.js')).validate,
    },
    {
      name: 'test',
      summary: 'run YAML test cases (default: <dir>/tests/*.yaml)',
      positionals: [{ name: 'file', variadic: true }],
      options: { dir: DIR },
      examples: ['flotilla policy test', 'flotilla policy test policies/tests/videos.yaml'],
      handler: async () => (await import('./policy.js')).test,
    },
    {
      name: 'lint',
      summary: 'warn about over-broad permits and key and bucket grants nobody declared',
      options: {
        dir: DIR,
        file: {
          ...FILE,
          description: "the fleet file whose services' keys: and buckets: grants are checked against",
          default: 'flotilla.yaml beside the policies folder',
        },
        strict: { type: 'boolean', description: 'exit 1 when there are warnings' },
      },
      handler: async () => (await import('./policy.js')).lint,
    },
    {
      name: 'why',
      summary: 'decide one request and show the deciding policies',
      positionals: [{ name: 'request.json', required: true }],
      options: { dir: DIR },
      handler: async () => (await import('./policy.js')).why,
    },
    {
      name: 'rotate-key',
      summary: 'a new bundle-signing key at the running control plane',
      description:
        'A new bundle-signing key at the running control plane; the previous key stays published until\nthe next rotation.',
      options: { url: URL_, home: HOME },
      handler: async () => (await import('./policy.js')).rotateKey,
    },
  ],
};

const authAdmin =
  "Calls the running fleet's auth service over its admin API (mTLS): the admin token buys a\none-time join token for the `operator` identity, whose short-lived certificate the CA signs\nfor this command; the fleet's policies open the admin API to `operator` only, and the auth\nservice audits every call. The control plane is found as for `flotilla ca`; the auth service\nin FLOTILLA_AUTH_URL or <home>/fleet.json.";

const userCommands: CommandSpec = {
  name: 'users',
  summary: 'manage auth users (add, disable, enable, reset-mfa, list)',
  description: `Users of the auth service; there is no self-signup. ${authAdmin}`,
  subcommands: [
    {
      name: 'add',
      summary: 'create a user (password from stdin)',
      positionals: [{ name: 'name', required: true }],
      options: {
        role: { type: 'string', value: 'ROLE', multiple: true, description: 'a role (at least one)' },
        'password-stdin': { type: 'boolean', description: 'read the password from stdin' },
        ...OPERATOR_OPTIONS,
      },
      examples: ['printf %s "$PASSWORD" | flotilla users add carol --role viewer --password-stdin'],
      handler: async () => (await import('./users.js')).add,
    },
    {
      name: 'disable',
      summary: 'disable a user and revoke their tokens',
      positionals: [{ name: 'name', required: true }],
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./users.js')).disable,
    },
    {
      name: 'enable',
      summary: 'enable a disabled user',
      positionals: [{ name: 'name', required: true }],
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./users.js')).enable,
    },
    {
      name: 'reset-mfa',
      summary: "remove a user's TOTP and recovery codes",
      positionals: [{ name: 'name', required: true }],
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./users.js')).resetMfa,
    },
    {
      name: 'list',
      summary: 'list users',
      options: { output: output(['table', 'json']), ...OPERATOR_OPTIONS },
      handler: async () => (await import('./users.js')).list,
    },
  ],
};

const authCommands: CommandSpec = {
  name: 'auth',
  summary: 'auth service signing keys, and client secret hashes',
  description: `The auth service's signing keys. ${authAdmin} A rotation takes effect at once.`,
  subcommands: [
    {
      name: 'rotate-keys',
      summary: 'activate the next signing key, retire the current one, publish a new next key',
      options: OPERATOR_OPTIONS,
      handler: async () => (await import('./auth.js')).rotateKeys,
    },
    {
      name: 'keys',
      summary: 'list signing keys and their states',
      options: { output: output(['table', 'json']), ...OPERATOR_OPTIONS },
      handler: async () => (await import('./auth.js')).keys,
    },
    {
      name: 'hash-secret',
      summary: 'read a client secret on stdin, print its Argon2id hash for the clients file',
      handler: async () => (await import('./auth.js')).hashSecretCommand,
    },
  ],
};

const otherCommands: CommandSpec[] = [
  {
    name: 'audit',
    summary: 'verify the hash chain of audit trails',
    subcommands: [
      {
        name: 'verify',
        summary: 'check every record of an audit trail (a file, or a folder of them)',
        positionals: [{ name: 'file-or-dir' }],
        options: { home: HOME },
        examples: ['flotilla audit verify', 'flotilla audit verify .flotilla/audit/control.jsonl'],
        handler: async () => (await import('./audit.js')).verify,
      },
    ],
  },
  {
    name: 'completion',
    summary: 'print a shell completion script (bash or zsh)',
    subcommands: [
      {
        name: 'bash',
        summary: 'completion for bash',
        examples: ['source <(flotilla completion bash)'],
        handler: async () => (await import('./completion.js')).bash,
      },
      {
        name: 'zsh',
        summary: 'completion for zsh',
        examples: ['source <(flotilla completion zsh)'],
        handler: async () => (await import('./completion.js')).zsh,
      },
    ],
  },
];

export const COMMANDS: readonly CommandSpec[] = [
  ...fleetCommands,
  caCommands,
  policyCommands,
  userCommands,
  storageCommands,
  authCommands,
  kmsCommands,
  busCommands,
  ...otherCommands,
];
