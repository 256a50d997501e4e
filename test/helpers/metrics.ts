/** An Analytics Engine dataset that records its data points. */
export function fakeDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return {
    points,
    dataset: { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) } as AnalyticsEngineDataset,
  };
}
