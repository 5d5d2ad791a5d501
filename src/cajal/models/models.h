#pragma once
// Ready architectures (presets), models from a list of layers, and the registry that builds
// either from a config.
#include "cajal/models/generate.h"
#include "cajal/models/layers.h"
#include "cajal/models/options.h"
#include "cajal/models/presets.h"
#include "cajal/models/registry.h"
#include "cajal/models/resnet.h"
#include "cajal/models/sequence.h"
#include "cajal/models/suggest.h"
