// .github/workflows/ferry.yml: publish on pushes to the main branch and on v* tags; with a deploy
// environment, deploy exactly the version just published, on tags only. node_modules is cached by the
// lockfile's hash, so an unchanged lockfile skips the install.
import { type CiInput, installCommand, lockFile, OSS_NOTE, secretLines } from './secrets';

export const GITHUB_WORKFLOW_PATH = '.github/workflows/ferry.yml';

export function githubWorkflow(i: CiInput): string {
  const cacheKey = `node-modules-\${{ runner.os }}-node${i.nodeMajor}-\${{ hashFiles('${lockFile(i)}') }}`;
  const setup = `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${i.nodeMajor}
      - name: Cache node_modules
        id: node-modules
        uses: actions/cache@v4
        with:
          path: node_modules
          key: ${cacheKey}
      - name: Install dependencies
        if: steps.node-modules.outputs.cache-hit != 'true'
        run: ${installCommand(i)}`;
  const deploy = i.deployEnv
    ? `
  deploy:
    # Tags only: a push to ${i.branch} publishes, a v* tag also rolls that exact version out.
    if: startsWith(github.ref, 'refs/tags/v')
    needs: publish
    runs-on: ubuntu-latest
    environment: ${i.deployEnv}
    # One rollout at a time; Ferry's own environment lock would refuse a second one anyway.
    concurrency:
      group: ferry-deploy-${i.deployEnv}
      cancel-in-progress: false
    steps:
${setup}
      - name: Deploy
        run: npx ferry deploy ${i.deployEnv} --version "\${{ needs.publish.outputs.version }}"
        env:
          OSS_ACCESS_KEY_ID: \${{ secrets.OSS_ACCESS_KEY_ID }}
          OSS_ACCESS_KEY_SECRET: \${{ secrets.OSS_ACCESS_KEY_SECRET }}
          FERRY_SSH_KEY: \${{ secrets.FERRY_SSH_KEY }}
`
    : '';
  return `# Ferry: publish a signed release of ${i.name} on every push to ${i.branch} and every v* tag${i.deployEnv ? `; deploy it to ${i.deployEnv} on tags` : ''}.
# Written by \`ferry init\`; docs/init.md in Ferry explains each step.
${secretLines(i, 'Settings > Secrets and variables > Actions').join('\n')}
${OSS_NOTE.join('\n')}
name: ferry

on:
  push:
    branches: [${i.branch}]
    tags: ['v*']
  workflow_dispatch:

permissions:
  contents: read

jobs:
  publish:
    runs-on: ubuntu-latest
    outputs:
      version: \${{ steps.publish.outputs.version }}
    steps:
${setup}
      - name: Publish
        id: publish
        run: |
          npx ferry publish --json > ferry-publish.json
          version=$(node -p "require('./ferry-publish.json').version")
          echo "version=$version" >> "$GITHUB_OUTPUT"
        env:
          OSS_ACCESS_KEY_ID: \${{ secrets.OSS_ACCESS_KEY_ID }}
          OSS_ACCESS_KEY_SECRET: \${{ secrets.OSS_ACCESS_KEY_SECRET }}
          FERRY_SIGNING_KEY: \${{ secrets.FERRY_SIGNING_KEY }}
${deploy}`;
}
