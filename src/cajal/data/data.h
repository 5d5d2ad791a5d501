#pragma once
// The data module: datasets, the DataLoader, readers and transforms.
#include "cajal/data/csv.h"
#include "cajal/data/dataset.h"
#include "cajal/data/idx.h"
#include "cajal/data/image.h"
#include "cajal/data/image_folder.h"
#include "cajal/data/loader.h"
#include "cajal/data/npy_pair.h"
#include "cajal/data/series.h"
#include "cajal/data/text.h"
#include "cajal/data/transforms.h"
