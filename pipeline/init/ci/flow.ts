// Alibaba Cloud DevOps Flow (云效): a YAML pipeline with one job. Flow shares no cache between the jobs of
// one run and caches nothing under the workspace, so node_modules is copied to and from a cache directory
// under /root/.cache, keyed by the lockfile's hash; /root/.npm (Flow's default npm cache) is kept too.
// Deploying runs in the same job, after publish, only when the run is for a v* tag.
import { type CiInput, installCommand, lockFile, OSS_NOTE, secretLines } from './secrets';

export const FLOW_PIPELINE_PATH = '.workflow/ferry.yml';

export function flowPipeline(i: CiInput): string {
  const deployStep = i.deployEnv
    ? `
          deploy_step:
            name: ferry deploy ${i.deployEnv} (v* tags only)
            step: Command
            with:
              run: |
                set -e
                case "$CI_COMMIT_REF_NAME" in
                  v*)
                    VERSION=$(node -p "require('./ferry-publish.json').version")
                    npx ferry deploy ${i.deployEnv} --version "$VERSION" ;;
                  *) echo "$CI_COMMIT_REF_NAME is not a v* tag: published, not deployed" ;;
                esac`
    : '';
  return `# Ferry: publish a signed release of ${i.name} on every push to ${i.branch} and every tag${i.deployEnv ? `; deploy v* tags to ${i.deployEnv}` : ''}.
# Written by \`ferry init\`: create a YAML pipeline in Flow from this file, then fill in the <...> values.
${secretLines(i, 'a Flow variable group, each variable encrypted; its id goes in variableGroups').join('\n')}
${OSS_NOTE.join('\n')}
name: ferry-${i.name}
sources:
  repo:
    type: codeup
    name: ${i.name}
    endpoint: <your-codeup-repository-url>
    branch: ${i.branch}
    triggerEvents: [push, tagPush]
    certificate:
      type: serviceConnection
      serviceConnection: <your-service-connection-id>
variableGroups: [<your-variable-group-id>]
cache:
  cacheDirs:
    - /root/.npm
    - /root/.cache/ferry
  cacheMode: remote
stages:
  publish_stage:
    name: Publish
    jobs:
      publish_job:
        name: ferry publish
        runsOn:
          group: public/cn-hangzhou
          container: node:${i.nodeMajor}
        steps:
          install_step:
            name: Install dependencies (node_modules cached by ${lockFile(i)})
            step: Command
            with:
              run: |
                set -e
                KEY=node_modules-$(sha256sum ${lockFile(i)} | cut -c1-16)
                if [ -d "/root/.cache/ferry/$KEY" ]; then
                  cp -a "/root/.cache/ferry/$KEY" node_modules
                else
                  ${installCommand(i)}
                  rm -rf /root/.cache/ferry && mkdir -p /root/.cache/ferry
                  cp -a node_modules "/root/.cache/ferry/$KEY"
                fi
          publish_step:
            name: ferry publish
            step: Command
            with:
              run: |
                set -e
                npx ferry publish --json > ferry-publish.json${deployStep}
`;
}
