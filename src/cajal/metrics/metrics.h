#pragma once
// Classification and regression metrics (scikit-learn's definitions), as functions on tensors
// and as meters that accumulate them over the batches of a training loop.
#include "cajal/metrics/classification.h"
#include "cajal/metrics/classification_meter.h"
#include "cajal/metrics/fairness.h"
#include "cajal/metrics/regression.h"
#include "cajal/metrics/roc_auc.h"
