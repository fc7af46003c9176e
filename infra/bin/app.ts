import { App } from 'aws-cdk-lib';
import { buildMissionControl } from '../lib/mission-control';

const app = new App();
buildMissionControl(app);
app.synth();
