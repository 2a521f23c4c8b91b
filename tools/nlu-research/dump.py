import csv, numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
def load(p):
    r=list(csv.reader(open(p,encoding='utf-8')))[1:]
    return [x[0] for x in r],[x[1] for x in r]
Xtr,ytr=load('/work/shared/data/banking77/train.csv'); Xte,yte=load('/work/shared/data/banking77/test.csv')
labs=sorted(set(ytr)); li={l:i for i,l in enumerate(labs)}
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
for name,X,y,fit in [('train',Xtr,ytr,True),('test',Xte,yte,False)]:
    W=w.fit_transform(X) if fit else w.transform(X); C=c.fit_transform(X) if fit else c.transform(X)
    S=sp.hstack([W,C]).tocsr(); S.sort_indices()
    E=np.load(f'use_{name}.npy').astype(np.float32)*1.5
    d=f'/tmp/nlu/bin_{name}_'
    np.array([S.shape[0],S.shape[1],E.shape[1]],dtype=np.uint32).tofile(d+'hdr')
    S.indptr.astype(np.uint32).tofile(d+'indptr'); S.indices.astype(np.uint32).tofile(d+'indices'); S.data.astype(np.float32).tofile(d+'data')
    E.tofile(d+'dense'); np.array([li[v] for v in y],dtype=np.uint32).tofile(d+'y')
print('ok', S.shape)
